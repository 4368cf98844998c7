import { useEffect, useRef, useState } from "preact/hooks";
import { api, get, post } from "../api.ts";
import { ARENA } from "../arena-api.ts";
import type { CodeEditor } from "../editor.ts";
import { live } from "../live.ts";
import { Markdown } from "../md.tsx";
import { announce, user } from "../state.ts";
import { Countdown, Empty, ErrorBox, FormError, Icon, Loading, Page, pick, useApi } from "../ui.tsx";
import { clockOffset } from "./event.tsx";

const STARTERS: Record<string, string> = {
  python3: "import sys\n\ndef main():\n    data = sys.stdin.read().split()\n    # your solution here\n\nmain()\n",
  javascript: 'const input = require("fs").readFileSync(0, "utf8").trim().split(/\\s+/);\n// your solution here\n',
  typescript: 'const input: string[] = require("fs").readFileSync(0, "utf8").trim().split(/\\s+/);\n// your solution here\n',
  c: "#include <stdio.h>\n\nint main(void) {\n    /* your solution here */\n    return 0;\n}\n",
  cpp: "#include <bits/stdc++.h>\nusing namespace std;\n\nint main() {\n    ios::sync_with_stdio(false);\n    cin.tie(nullptr);\n    // your solution here\n    return 0;\n}\n",
};

const VERDICT_TEXT: Record<string, string> = { AC: "Accepted", WA: "Wrong answer", TLE: "Time limit exceeded", MLE: "Memory limit exceeded", RE: "Runtime error", OLE: "Output limit exceeded", CE: "Compile error", IE: "Internal error (retrying)", OK: "Ran" };

const norm = (s: string) => s.replace(/[ \t]+$/gm, "").replace(/\s+$/, "");
const storeKey = (id: string, lang: string) => `gauntlet-src-${id}-${lang}`;

export function MatchPage({ id }: { id: string }) {
  const q = useApi(ARENA.match(id));
  const langs = useApi(ARENA.languages);
  const u = user.value;
  const [swapBanner, setSwapBanner] = useState(false);
  const [liveSub, setLiveSub] = useState<any>(null);
  const [testerResult, setTesterResult] = useState<any>(null);
  const [runResults, setRunResults] = useState<any[] | null>(null);
  const [language, setLanguage] = useState<string>(() => localStorage.getItem("gauntlet-lang") ?? "python3");
  const editorRef = useRef<CodeEditor | null>(null);
  const hostRef = useRef<HTMLDivElement>(null);
  const [editorError, setEditorError] = useState("");
  const [busy, setBusy] = useState("");
  const [err, setErr] = useState("");
  const wasSwapped = useRef<boolean | null>(null);
  const langRef = useRef(language);
  langRef.current = language;

  const m = q.data ? (pick(q.data, "match") ?? q.data) : null;
  const status = String(pick(m, "status") ?? "");
  const you = pick(m, "you");
  const role: string | undefined = pick(you, "role");
  const canCode = status === "running" && you && role !== "tester";

  useEffect(() => {
    let t: ReturnType<typeof setTimeout> | null = null;
    const refetch = () => {
      if (t) return;
      t = setTimeout(() => ((t = null), q.reload()), 120);
    };
    const presence = () => void post(ARENA.presence(id), { online: true }).catch(() => {});
    presence();
    const offMatch = live.subscribe(
      `match:${id}`,
      (_data, meta) => {
        if (meta.type === "role.swap") {
          setSwapBanner(true);
          announce("Roles swapped!", "info");
        }
        if (meta.type === "started") announce("The match has started. Good luck!", "info");
        if (meta.type === "finished") announce("The match is over.", "info");
        refetch();
      },
      () => {
        presence();
        refetch();
      },
    );
    const offUser = u
      ? live.subscribe(`user:${u.id}`, (data, meta) => {
          if (String(data?.matchId ?? data?.submission?.matchId) !== id) return;
          if (meta.type === "verdict") {
            setLiveSub(data.submission);
            const v = data.submission?.verdict;
            if (v) announce(`Verdict: ${VERDICT_TEXT[v] ?? v}.`, v === "AC" ? "success" : "error");
            refetch();
          } else if (meta.type === "tester.result") {
            setTesterResult(data);
            announce("The tester ran your code.", "info");
          } else if (meta.type === "match.finished") refetch();
        })
      : () => {};
    return () => {
      offMatch();
      offUser();
      if (t) clearTimeout(t);
    };
  }, [id, u?.id]);

  // Show the swap banner also when the swap is noticed by a refetch (e.g. after a reconnect).
  useEffect(() => {
    if (!m) return;
    if (wasSwapped.current === false && m.swapped) setSwapBanner(true);
    wasSwapped.current = !!m.swapped;
  }, [m?.swapped]);

  // The editor chunk loads once the match is running and this player writes code; it goes when the role does.
  useEffect(() => {
    if (!canCode) {
      editorRef.current?.destroy();
      editorRef.current = null;
      return;
    }
    if (!hostRef.current || editorRef.current) return;
    let cancelled = false;
    const pairs = m?.format === "pairs";
    // In pairs the team's code is shared: a new coder (after the swap) picks up where the other left off.
    const team: Promise<{ language: string | null; source: string | null } | null> = pairs ? get(`${ARENA.match(id)}/code`).catch(() => null) : Promise.resolve(null);
    Promise.all([import("../editor.ts"), team]).then(
      ([mod, shared]) => {
        if (cancelled || !hostRef.current) return;
        let lang = langRef.current;
        if (shared?.source && shared.language) {
          lang = shared.language;
          setLanguage(lang);
        }
        let saveTimer: ReturnType<typeof setTimeout> | null = null;
        editorRef.current = mod.createEditor(hostRef.current, {
          value: shared?.source ?? sessionStorage.getItem(storeKey(id, lang)) ?? STARTERS[lang] ?? "",
          language: lang,
          label: "Solution code",
          onChange: (v) => {
            sessionStorage.setItem(storeKey(id, langRef.current), v);
            // The tester runs cases against the coder's saved code.
            if (pairs) {
              if (saveTimer) clearTimeout(saveTimer);
              saveTimer = setTimeout(() => void api("PUT", `${ARENA.match(id)}/code`, { language: langRef.current, source: v }).catch(() => {}), 800);
            }
          },
        });
      },
      () => setEditorError("The code editor could not be loaded. Check your connection and reload."),
    );
    return () => {
      cancelled = true;
    };
  }, [canCode]);
  useEffect(
    () => () => {
      editorRef.current?.destroy();
      editorRef.current = null;
    },
    [],
  );

  const changeLanguage = (l: string) => {
    const ed = editorRef.current;
    if (ed) {
      const cur = ed.getValue();
      const untouched = Object.values(STARTERS).includes(cur) || !cur.trim();
      ed.setLanguage(l);
      if (untouched) ed.setValue(sessionStorage.getItem(storeKey(id, l)) ?? STARTERS[l] ?? "");
    }
    setLanguage(l);
    localStorage.setItem("gauntlet-lang", l);
  };

  if (q.error && !q.data) return <ErrorBox error={q.error} onRetry={q.reload} what="the match" />;
  if (!m) return <Loading what="the match" />;
  const problem = pick(m, "problem");
  const offset = clockOffset(m);
  const players: any[] = pick(m, "players") ?? [];
  const mySide = pick<number>(you, "side");
  const progress: any[] = pick(m, "progress") ?? [];
  const samples: any[] = pick(problem, "samples") ?? [];
  const mySubs: any[] = pick(m, "mySubmissions") ?? [];
  const lastSub = liveSub && (!mySubs.length || liveSub.id >= mySubs[mySubs.length - 1].id) ? liveSub : mySubs.filter((s) => s.kind !== "tester").slice(-1)[0];
  const langList: any[] = (pick(langs.data, "languages") ?? []).filter((l: any) => l.available !== false);
  const finished = status === "finished" || status === "cancelled";

  const runSamples = async () => {
    const source = editorRef.current?.getValue() ?? "";
    setBusy("run");
    setErr("");
    setRunResults(null);
    try {
      const out = [];
      for (const [i, s] of samples.entries()) {
        const r = await post(ARENA.run, { language, source, stdin: String(s.input ?? "") });
        const ok = r.status === "OK" && norm(r.stdout) === norm(String(s.answer ?? ""));
        out.push({ name: s.name ?? `Sample ${i + 1}`, verdict: r.status === "OK" ? (ok ? "AC" : "WA") : r.status, timeMs: r.timeMs, detail: r.status === "CE" ? r.compileOutput || r.stderr : ok ? "" : `Your output:\n${r.stdout}${r.stderr ? "\n--- stderr ---\n" + r.stderr : ""}` });
        if (r.status === "CE") break;
      }
      setRunResults(out);
      announce(`Samples: ${out.filter((x) => x.verdict === "AC").length} of ${samples.length} passed.`);
    } catch (e) {
      setErr((e as Error).message);
    } finally {
      setBusy("");
    }
  };
  const submit = async () => {
    const source = editorRef.current?.getValue() ?? "";
    setBusy("submit");
    setErr("");
    try {
      const r = await post(ARENA.submit(id), { language, source });
      setLiveSub(r.submission ?? null);
      announce("Submitted. Verdicts appear as the tests run.");
    } catch (e) {
      setErr((e as Error).message);
    } finally {
      setBusy("");
    }
  };

  const title = problem ? String(pick(problem, "title")) : status === "waiting" ? "Waiting for players" : "Match";
  return (
    <Page title={title} wide>
      {swapBanner && (
        <div class="banner swap" role="alert">
          <span>
            <Icon name="bolt" /> Roles swapped!{role && role !== "solo" && m.swapped ? ` You are now the ${role}.` : " The coder is now the tester and the tester the coder."}
          </span>
          <button class="icon-button" aria-label="Dismiss" onClick={() => setSwapBanner(false)}>
            <Icon name="x" size={14} />
          </button>
        </div>
      )}
      {finished && <ResultCard m={m} me={u?.id} />}
      <div class="row match-meta">
        <span class="badge info">{String(pick(m, "format") ?? "duel")}</span>
        <span class="badge">{String(pick(m, "difficulty") ?? "")}</span>
        {role && role !== "solo" && <span class="badge ok">You are the {role}</span>}
        <span class="muted small">
          {[0, 1]
            .map((side) =>
              players
                .filter((p) => p.side === side)
                .map((p) => p.username + (p.connected === false ? " (disconnected)" : ""))
                .join(" & "),
            )
            .filter(Boolean)
            .join(" vs ")}
        </span>
      </div>
      {status === "waiting" && (
        <div class="card invite" role="status">
          {pick(m, "inviteCode") ? (
            <>
              <p>Share this invite code with your opponent:</p>
              <p class="invite-code" data-testid="invite-code">
                {m.inviteCode}
              </p>
            </>
          ) : null}
          <p class="muted">
            <span class="spinner" aria-hidden="true" /> The match starts when every seat is taken.
          </p>
        </div>
      )}
      {status === "countdown" && pick(m, "startsAt") && (
        <div class="card center">
          <Countdown to={m.startsAt} offsetMs={offset} label="Match starts in" onDone={q.reload} />
        </div>
      )}
      {(status === "running" || finished) && (
        <div class="match">
          <div class="match-problem card">
            {status === "running" && pick(m, "endsAt") && <Countdown to={m.endsAt} offsetMs={offset} label="Time left" onDone={q.reload} />}
            {problem ? <Markdown source={String(pick(problem, "statement") ?? "")} /> : <Empty>The problem appears when the match starts.</Empty>}
            {problem && (
              <p class="muted small">
                Time limit {problem.timeLimitMs} ms · memory {problem.memoryLimitMb} MiB
              </p>
            )}
            {samples.length > 0 && (
              <>
                <h2>Samples</h2>
                {samples.map((s, i) => (
                  <div class="sample" key={i}>
                    <div>
                      <h3>Input {i + 1}</h3>
                      <pre class="code">{String(s.input ?? "")}</pre>
                    </div>
                    <div>
                      <h3>Output {i + 1}</h3>
                      <pre class="code">{String(s.answer ?? "")}</pre>
                    </div>
                  </div>
                ))}
              </>
            )}
          </div>
          <div class="match-work">
            {canCode && (
              <div class="card">
                <div class="row between">
                  <label for="language">Language</label>
                  <select id="language" value={language} onChange={(e) => changeLanguage(e.currentTarget.value)} style={{ maxWidth: "16rem" }}>
                    {(langList.length ? langList : [{ id: "python3", name: "Python 3" }]).map((l) => (
                      <option key={l.id} value={l.id}>
                        {l.name ?? l.id}
                      </option>
                    ))}
                  </select>
                </div>
                <div ref={hostRef} class="editor-host" data-testid="editor" aria-describedby="editor-help">
                  {editorError && <p class="form-error">{editorError}</p>}
                </div>
                <p id="editor-help" class="muted small">
                  Tab indents. To leave the editor with the keyboard, press Esc, then Tab.
                </p>
                <div class="row">
                  <button class="secondary" onClick={runSamples} disabled={!!busy || !samples.length}>
                    {busy === "run" ? "Running…" : "Run samples"}
                  </button>
                  <button onClick={submit} disabled={!!busy}>
                    {busy === "submit" ? "Submitting…" : "Submit"}
                  </button>
                </div>
                <FormError error={err} />
              </div>
            )}
            {status === "running" && role === "tester" && <TesterPanel id={id} />}
            {testerResult && (
              <div class="card">
                <h2>Your tester's run</h2>
                <VerdictTable rows={pick(testerResult, "tests", "results") ?? []} />
              </div>
            )}
            {runResults && (
              <div class="card">
                <h2>Sample runs</h2>
                <VerdictTable rows={runResults} />
              </div>
            )}
            {you && (
              <div class="card" aria-live="polite">
                <h2>Your last submission</h2>
                {lastSub ? (
                  <>
                    <p>
                      {lastSub.status !== "done" ? (
                        <>
                          <span class="spinner" aria-hidden="true" /> Judging…
                        </>
                      ) : (
                        <>
                          <span class={"verdict v-" + lastSub.verdict}>{lastSub.verdict}</span> {VERDICT_TEXT[lastSub.verdict] ?? ""} · {lastSub.hiddenPassed ?? 0}/{lastSub.hiddenTotal ?? 0} hidden tests
                        </>
                      )}
                    </p>
                    <VerdictTable rows={pick(lastSub, "tests") ?? []} />
                  </>
                ) : (
                  <p class="muted">No submission yet.</p>
                )}
              </div>
            )}
            {finished && (pick<any[]>(m, "timeline") ?? []).length > 0 && <Replay timeline={m.timeline} />}
            <div class="card">
              <h2>Progress</h2>
              <ul class="progress-list">
                {progress.map((p) => {
                  const names = players.filter((x) => x.side === p.side).map((x) => x.username).join(" & ");
                  const total = Number(p.hiddenTotal ?? 0);
                  const passed = Number(p.bestHiddenPassed ?? 0);
                  return (
                    <li key={p.side} data-side={p.side}>
                      <strong>
                        {names || `Side ${p.side + 1}`}
                        {p.side === mySide ? " (you)" : ""}
                      </strong>
                      <progress max={total || 1} value={passed} aria-label={`${names}: ${passed} of ${total} hidden tests passed`} />
                      <span class="muted small">
                        {total ? `${passed}/${total} hidden tests` : "no verdict yet"} · {p.submissions} submission{p.submissions === 1 ? "" : "s"}
                        {p.lastVerdict ? ` · last ${p.lastVerdict}` : ""}
                      </span>
                    </li>
                  );
                })}
              </ul>
            </div>
          </div>
        </div>
      )}
    </Page>
  );
}

/** After the end: every submission in order, with its code. */
function Replay({ timeline }: { timeline: any[] }) {
  return (
    <section class="card" aria-labelledby="replay-title">
      <h2 id="replay-title">Replay</h2>
      <ol class="replay">
        {timeline.map((s) => (
          <li key={s.id}>
            <span class="muted small">{s.atSec !== null && s.atSec !== undefined ? `${Math.floor(s.atSec / 60)}:${String(s.atSec % 60).padStart(2, "0")}` : ""}</span> <strong>{s.username}</strong> {s.kind === "tester" ? "ran tests" : "submitted"} ({s.language}){" "}
            {s.verdict && <span class={"verdict v-" + s.verdict}>{s.verdict}</span>}{" "}
            {s.hiddenTotal ? (
              <span class="muted small">
                {s.hiddenPassed}/{s.hiddenTotal} hidden
              </span>
            ) : null}
            {s.source && (
              <details>
                <summary>Code</summary>
                <pre class="code">{s.source}</pre>
              </details>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

function TesterPanel({ id }: { id: string }) {
  const [cases, setCases] = useState([{ input: "", expected: "" }]);
  const [msg, setMsg] = useState("");
  const [err, setErr] = useState("");
  const run = async () => {
    setErr("");
    try {
      await post(ARENA.testerRun(id), { tests: cases.filter((c) => c.input || c.expected) });
      setMsg("Sent. Results go to your coder.");
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  return (
    <div class="card">
      <h2>Tester: write test cases</h2>
      <p class="muted">They run against your coder's current code; the results go to your coder.</p>
      {cases.map((c, i) => (
        <div class="sample" key={i}>
          <div class="field">
            <label for={`tc-in-${i}`}>Input {i + 1}</label>
            <textarea id={`tc-in-${i}`} class="mono" rows={3} value={c.input} onInput={(e) => setCases(cases.map((x, j) => (j === i ? { ...x, input: e.currentTarget.value } : x)))} />
          </div>
          <div class="field">
            <label for={`tc-out-${i}`}>Expected output {i + 1}</label>
            <textarea id={`tc-out-${i}`} class="mono" rows={3} value={c.expected} onInput={(e) => setCases(cases.map((x, j) => (j === i ? { ...x, expected: e.currentTarget.value } : x)))} />
          </div>
        </div>
      ))}
      <div class="row">
        <button class="secondary small" onClick={() => setCases([...cases, { input: "", expected: "" }])} disabled={cases.length >= 10}>
          Add a case
        </button>
        <button onClick={run}>Run against the coder's code</button>
      </div>
      {msg && <p role="status">{msg}</p>}
      <FormError error={err} />
    </div>
  );
}

function VerdictTable({ rows }: { rows: any[] }) {
  if (!rows.length) return null;
  return (
    <table class="table verdicts">
      <thead>
        <tr>
          <th scope="col">Test</th>
          <th scope="col">Verdict</th>
          <th scope="col" class="num">
            Time
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => {
          const v = String(pick(r, "verdict", "status") ?? "…");
          const name = pick(r, "name") ?? (r.kind ? `${r.kind} ${Number(r.i ?? i) + 1}` : i + 1);
          return (
            <tr key={i}>
              <td>{String(name)}</td>
              <td>
                <span class={"verdict v-" + v}>{v}</span> <span class="muted small">{VERDICT_TEXT[v] ?? ""}</span>
                {pick(r, "detail") && (
                  <details>
                    <summary>Details</summary>
                    <pre class="code">{String(r.detail)}</pre>
                  </details>
                )}
              </td>
              <td class="num">{pick(r, "timeMs") !== undefined ? `${r.timeMs} ms` : ""}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function ResultCard({ m, me }: { m: any; me?: number }) {
  const result = pick(m, "result") ?? {};
  if (m.status === "cancelled")
    return (
      <section class="card result" role="status">
        <h2>Match cancelled</h2>
        <a href="/arena">Back to the arena</a>
      </section>
    );
  const mySide = pick<number>(pick(m, "you"), "side");
  const winner = pick<number>(result, "winnerSide");
  const draw = winner === undefined || winner === null;
  const won = !draw && winner === mySide;
  const mine = (pick<any[]>(m, "players") ?? []).find((p) => p.userId === me);
  const delta = pick<number>(mine, "ratingDelta");
  const before = pick<number>(mine, "ratingBefore");
  const scores = pick<any>(result, "scores");
  return (
    <section class={"card result " + (draw ? "draw" : won ? "won" : "lost")} role="status" aria-live="polite" data-testid="match-result">
      <h2>
        <Icon name="trophy" size={26} /> {mySide === undefined ? (draw ? "Draw" : `Side ${Number(winner) + 1} won`) : draw ? "Draw" : won ? "You won!" : "You lost"}
      </h2>
      {pick(result, "reason") && <p class="muted">Decided by: {String(result.reason).replaceAll("_", " ")}</p>}
      {Array.isArray(scores) && <p>Scores: {scores.map((s: any) => (typeof s === "object" ? (s.score ?? JSON.stringify(s)) : s)).join(" – ")}</p>}
      {delta !== undefined && delta !== null && (
        <p data-testid="rating-change">
          Rating: {before !== undefined && before !== null ? `${before} → ${before + delta} ` : ""}({delta >= 0 ? "+" : ""}
          {delta})
        </p>
      )}
      <a href="/arena">Back to the arena</a>
    </section>
  );
}
