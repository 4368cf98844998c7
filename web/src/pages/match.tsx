import { useEffect, useRef, useState } from "preact/hooks";
import { get, post } from "../api.ts";
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

const VERDICT_TEXT: Record<string, string> = { AC: "Accepted", WA: "Wrong answer", TLE: "Time limit exceeded", MLE: "Memory limit exceeded", RE: "Runtime error", OLE: "Output limit exceeded", CE: "Compile error", IE: "Internal error (retrying)" };

const norm = (s: string) => s.replace(/[ \t]+$/gm, "").replace(/\s+$/, "");

export function MatchPage({ id }: { id: string }) {
  const q = useApi(ARENA.match(id));
  const langs = useApi("/api/v1/runner/languages");
  const u = user.value;
  const [swap, setSwap] = useState<string | null>(null);
  const [verdicts, setVerdicts] = useState<any[] | null>(null);
  const [runResults, setRunResults] = useState<any[] | null>(null);
  const [language, setLanguage] = useState<string>(() => localStorage.getItem("gauntlet-lang") ?? "python3");
  const editorRef = useRef<CodeEditor | null>(null);
  const hostRef = useRef<HTMLDivElement>(null);
  const [editorError, setEditorError] = useState("");
  const [busy, setBusy] = useState("");
  const [err, setErr] = useState("");

  useEffect(() => {
    let t: ReturnType<typeof setTimeout> | null = null;
    const refetch = () => {
      if (t) return;
      t = setTimeout(() => ((t = null), q.reload()), 150);
    };
    const off = live.subscribe(
      `match:${id}`,
      (data, meta) => {
        const kind = String(meta.type);
        if (kind.includes("swap")) {
          setSwap("Roles swapped! " + (pick(data, "message") ?? "The coder is now the tester and the tester is now the coder."));
          announce("Roles swapped!", "info");
        }
        if (kind.includes("verdict") || kind.includes("submission")) {
          const v = pick<any[]>(data, "verdicts", "tests");
          if (v) setVerdicts(v);
        }
        if (kind.includes("finish") || kind.includes("result")) announce("The match is over.", "info");
        refetch();
      },
      refetch,
    );
    return () => {
      off();
      if (t) clearTimeout(t);
    };
  }, [id]);

  // The editor chunk loads after the statement is on screen.
  useEffect(() => {
    if (!hostRef.current || editorRef.current) return;
    let cancelled = false;
    import("../editor.ts").then(
      (m) => {
        if (cancelled || !hostRef.current) return;
        const saved = sessionStorage.getItem(`gauntlet-src-${id}-${language}`);
        editorRef.current = m.createEditor(hostRef.current, {
          value: saved ?? STARTERS[language] ?? "",
          language,
          label: "Solution code",
          onChange: (v) => sessionStorage.setItem(`gauntlet-src-${id}-${language}`, v),
        });
      },
      () => setEditorError("The code editor could not be loaded. Check your connection and reload."),
    );
    return () => {
      cancelled = true;
    };
  }, [q.data !== undefined]);
  useEffect(() => () => editorRef.current?.destroy(), []);

  const changeLanguage = (l: string) => {
    const ed = editorRef.current;
    if (ed) {
      const cur = ed.getValue();
      const wasStarter = Object.values(STARTERS).includes(cur);
      ed.setLanguage(l);
      if (wasStarter || !cur.trim()) ed.setValue(sessionStorage.getItem(`gauntlet-src-${id}-${l}`) ?? STARTERS[l] ?? "");
    }
    setLanguage(l);
    localStorage.setItem("gauntlet-lang", l);
  };

  if (q.error && !q.data) return <ErrorBox error={q.error} onRetry={q.reload} what="the match" />;
  if (!q.data) return <Loading what="the match" />;
  const d = q.data;
  const m = pick(d, "match") ?? d;
  const problem = pick(m, "problem") ?? pick(d, "problem");
  const status = String(pick(m, "status", "state") ?? "running");
  const offset = clockOffset(d);
  const endsAt = pick<number>(m, "endsAt", "deadline");
  const startsAt = pick<number>(m, "startsAt", "startedAt");
  const me = pick(m, "me", "you") ?? {};
  const role = pick<string>(me, "role") ?? pick(m, "role");
  const opponents: any[] = pick(m, "opponents", "others", "players") ?? [];
  const result = pick(m, "result");
  const samples: any[] = pick(problem, "samples", "sampleTests") ?? [];
  const lastVerdicts: any[] = verdicts ?? pick(me, "verdicts") ?? pick(pick(me, "lastSubmission") ?? {}, "verdicts", "tests") ?? [];
  const langList: any[] = (pick(langs.data, "languages") ?? []).filter((l: any) => l.available !== false);
  const finished = status === "finished" || status === "ended" || !!result;

  const runSamples = async () => {
    const source = editorRef.current?.getValue() ?? "";
    setBusy("run");
    setErr("");
    setRunResults(null);
    try {
      const out = [];
      for (const [i, s] of samples.entries()) {
        const r = await post(ARENA.run, { language, source, stdin: String(pick(s, "input") ?? "") });
        const expected = String(pick(s, "answer", "output", "expected") ?? "");
        const ok = r.status === "OK" && norm(r.stdout) === norm(expected);
        out.push({ name: pick(s, "name") ?? `Sample ${i + 1}`, ok, status: r.status === "OK" ? (ok ? "AC" : "WA") : r.status, stdout: r.stdout, stderr: r.compileOutput || r.stderr, timeMs: r.timeMs, expected });
        if (r.status === "CE") break;
      }
      setRunResults(out);
      announce(`Samples: ${out.filter((x) => x.ok).length} of ${samples.length} passed.`);
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
      const v = pick<any[]>(r, "verdicts", "tests") ?? pick(pick(r, "submission") ?? {}, "verdicts", "tests");
      setVerdicts(v ?? []);
      announce("Submitted. Verdicts appear as the tests run.");
      q.reload();
    } catch (e) {
      setErr((e as Error).message);
    } finally {
      setBusy("");
    }
  };

  return (
    <Page title={String(pick(problem, "title") ?? "Match")} wide>
      {swap && (
        <div class="banner swap" role="alert">
          <Icon name="bolt" /> {swap}
          <button class="icon-button" aria-label="Dismiss" onClick={() => setSwap(null)}>
            <Icon name="x" size={14} />
          </button>
        </div>
      )}
      {finished && <ResultCard result={result} me={u?.id} />}
      <div class="match">
        <div class="match-problem card">
          <div class="row between">
            <span class="badge info">{String(pick(m, "format") ?? "duel")}</span>
            {pick(problem, "difficulty") && <span class="badge">{problem.difficulty}</span>}
            {role && <span class="badge ok">You are the {role}</span>}
          </div>
          {!finished && startsAt && Date.now() + offset < startsAt && <Countdown to={startsAt} offsetMs={offset} label="Starts in" onDone={q.reload} />}
          {!finished && endsAt && <Countdown to={endsAt} offsetMs={offset} label="Time left" onDone={q.reload} />}
          {problem ? <Markdown source={String(pick(problem, "statement", "body") ?? "")} /> : <Empty>The problem appears when the match starts.</Empty>}
          {samples.length > 0 && (
            <>
              <h2>Samples</h2>
              {samples.map((s, i) => (
                <div class="sample" key={i}>
                  <div>
                    <h3>Input</h3>
                    <pre class="code">{String(pick(s, "input") ?? "")}</pre>
                  </div>
                  <div>
                    <h3>Output</h3>
                    <pre class="code">{String(pick(s, "answer", "output", "expected") ?? "")}</pre>
                  </div>
                </div>
              ))}
            </>
          )}
        </div>
        <div class="match-work">
          <div class="card">
            <div class="row between">
              <label for="language">Language</label>
              <select id="language" value={language} onChange={(e) => changeLanguage(e.currentTarget.value)}>
                {(langList.length ? langList : [{ id: "python3", name: "Python 3" }, { id: "javascript", name: "JavaScript" }, { id: "cpp", name: "C++" }, { id: "c", name: "C" }]).map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.name ?? l.id}
                  </option>
                ))}
              </select>
            </div>
            <div ref={hostRef} class="editor-host" data-testid="editor">
              {editorError && <p class="form-error">{editorError}</p>}
            </div>
            <div class="row">
              <button class="secondary" onClick={runSamples} disabled={!!busy || finished || !samples.length}>
                {busy === "run" ? "Running…" : "Run samples"}
              </button>
              <button onClick={submit} disabled={!!busy || finished}>
                {busy === "submit" ? "Submitting…" : "Submit"}
              </button>
            </div>
            <FormError error={err} />
          </div>
          {runResults && (
            <div class="card">
              <h2>Sample runs</h2>
              <VerdictTable rows={runResults} />
            </div>
          )}
          <div class="card" aria-live="polite">
            <h2>Your last submission</h2>
            {lastVerdicts.length ? <VerdictTable rows={lastVerdicts} /> : <p class="muted">No submission yet.</p>}
          </div>
          <div class="card">
            <h2>Opponent progress</h2>
            {opponents.length === 0 ? (
              <p class="muted">Waiting for the opponent.</p>
            ) : (
              <ul class="progress-list">
                {opponents.map((o, i) => {
                  const passed = Number(pick(o, "passed", "testsPassed") ?? 0);
                  const total = Number(pick(o, "total", "testsTotal") ?? 0);
                  return (
                    <li key={i}>
                      <span>{String(pick(o, "username", "name", "team") ?? "Opponent")}</span>
                      {total ? <progress max={total} value={passed} aria-label={`${passed} of ${total} tests passed`} /> : null}
                      <span class="muted small">
                        {total ? `${passed}/${total} tests` : ""} · {Number(pick(o, "submissions") ?? 0)} submissions
                      </span>
                    </li>
                  );
                })}
              </ul>
            )}
          </div>
        </div>
      </div>
    </Page>
  );
}

function VerdictTable({ rows }: { rows: any[] }) {
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
          return (
            <tr key={i}>
              <td>{String(pick(r, "name", "test") ?? i + 1)}</td>
              <td>
                <span class={"verdict v-" + v} title={VERDICT_TEXT[v]}>
                  {v}
                </span>{" "}
                <span class="muted small">{VERDICT_TEXT[v] ?? ""}</span>
                {pick(r, "stderr") && (
                  <details>
                    <summary>Output</summary>
                    <pre class="code">{String(r.stderr)}</pre>
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

function ResultCard({ result, me }: { result: any; me?: number }) {
  const winner = pick(result, "winner", "winnerId", "winnerTeam");
  const draw = pick(result, "draw") || winner === null;
  const mine = pick<any[]>(result, "players", "sides")?.find((p: any) => pick(p, "userId", "id") === me) ?? pick(result, "me") ?? {};
  const won = pick(mine, "won") ?? (winner !== undefined && (winner === me || pick(mine, "team") === winner));
  const delta = pick<number>(mine, "ratingChange", "ratingDelta", "delta");
  const rating = pick<number>(mine, "rating", "newRating");
  return (
    <section class={"card result " + (draw ? "draw" : won ? "won" : "lost")} role="status" aria-live="polite">
      <h2>
        <Icon name="trophy" size={26} /> {draw ? "Draw" : won ? "You won!" : "You lost"}
      </h2>
      {pick(result, "reason") && <p class="muted">{String(result.reason)}</p>}
      {pick(mine, "score") !== undefined && <p>Your score: {mine.score}</p>}
      {delta !== undefined && (
        <p data-testid="rating-change">
          Rating: {rating ?? ""} ({delta >= 0 ? "+" : ""}
          {delta})
        </p>
      )}
      <a href="/arena">Back to the arena</a>
    </section>
  );
}

export { get };
