import { useEffect, useState } from "preact/hooks";
import { patch, post } from "../api.ts";
import { navigate } from "../router.tsx";
import { announce } from "../state.ts";
import { Async, Empty, Field, FormError, Page, pick, useAction, useApi } from "../ui.tsx";
import { MdField } from "./puzzles.tsx";

const PROBLEMS = "/api/v1/admin/problems";

interface Test {
  name: string;
  input: string;
  answer: string;
}

/** Pairs uploaded files by base name: 1.in + 1.ans (or .out) make one test. */
async function pairTests(files: FileList): Promise<{ tests: Test[]; unpaired: string[] }> {
  const by = new Map<string, { in?: string; ans?: string }>();
  for (const f of Array.from(files)) {
    const m = f.name.match(/^(.*)\.(in|ans|out)$/);
    if (!m) continue;
    const e = by.get(m[1]!) ?? {};
    const text = await f.text();
    if (m[2] === "in") e.in = text;
    else e.ans = text;
    by.set(m[1]!, e);
  }
  const tests: Test[] = [];
  const unpaired: string[] = [];
  for (const [name, e] of [...by].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))) {
    if (e.in !== undefined && e.ans !== undefined) tests.push({ name, input: e.in, answer: e.ans });
    else unpaired.push(name);
  }
  return { tests, unpaired };
}

export function ProblemsAdmin() {
  const q = useApi(PROBLEMS);
  const [progress, setProgress] = useState<{ done: number; total: number; errors: string[] } | null>(null);
  const importJson = async (file: File) => {
    let items: any[];
    try {
      const parsed = JSON.parse(await file.text());
      items = Array.isArray(parsed) ? parsed : (parsed.problems ?? [parsed]);
    } catch {
      setProgress({ done: 0, total: 0, errors: ["That file is not valid JSON."] });
      return;
    }
    const st = { done: 0, total: items.length, errors: [] as string[] };
    setProgress({ ...st });
    for (const p of items) {
      try {
        await post(PROBLEMS, p);
      } catch (e) {
        st.errors.push(`${p?.title ?? "untitled"}: ${(e as Error).message}`);
      }
      st.done++;
      setProgress({ ...st });
    }
    q.reload();
  };
  // A Kattis package is a folder: every file goes up as a JSON map of relative paths (binary ones as base64:).
  const importKattis = async (files: FileList) => {
    const list = Array.from(files).filter((f) => !/(^|\/)\./.test((f as any).webkitRelativePath || f.name));
    const st = { done: 0, total: list.length + 1, errors: [] as string[] };
    setProgress({ ...st });
    const map: Record<string, string> = {};
    for (const f of list) {
      const rel = String((f as any).webkitRelativePath || f.name).split("/").slice(1).join("/") || f.name;
      const buf = new Uint8Array(await f.arrayBuffer());
      let text: string | null = null;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
      } catch {
        text = null;
      }
      if (text !== null && !text.startsWith("base64:")) map[rel] = text;
      else {
        let bin = "";
        for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
        map[rel] = "base64:" + btoa(bin);
      }
      st.done++;
      setProgress({ ...st });
    }
    try {
      const r = await post(`${PROBLEMS}/import/kattis`, { files: map });
      announce(`Imported “${r.problem?.title ?? "the problem"}”.`, "success");
    } catch (e) {
      st.errors.push((e as Error).message);
    }
    st.done = st.total;
    setProgress({ ...st });
    q.reload();
  };
  return (
    <Page
      title="Problems"
      actions={
        <>
          <label class="button secondary file">
            Import JSON
            <input type="file" accept=".json,application/json" class="sr-only" onChange={(e) => e.currentTarget.files?.[0] && importJson(e.currentTarget.files[0])} />
          </label>
          <label class="button secondary file">
            Import Kattis folder
            <input type="file" class="sr-only" {...({ webkitdirectory: true } as any)} multiple onChange={(e) => e.currentTarget.files?.length && importKattis(e.currentTarget.files)} />
          </label>
          <a class="button" href="/admin/problems/new">
            New problem
          </a>
        </>
      }
    >
      {progress && (
        <div class="card import-progress" role="status">
          <label for="pimp">
            {progress.done < progress.total ? `Importing… step ${progress.done} of ${progress.total}` : `Import finished${progress.errors.length ? " with errors" : ""}.`}
          </label>
          <progress id="pimp" max={progress.total || 1} value={progress.done} />
          {progress.errors.map((e) => (
            <p class="form-error" key={e}>
              {e}
            </p>
          ))}
        </div>
      )}
      <Async q={q} what="problems">
        {(d) => {
          const list: any[] = Array.isArray(d) ? d : (pick(d, "problems", "items") ?? []);
          if (!list.length) return <Empty>No problems yet.</Empty>;
          return (
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Problem</th>
                  <th scope="col">Difficulty</th>
                  <th scope="col">Tags</th>
                  <th scope="col" class="num">
                    Tests (sample + hidden)
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <a href={`/admin/problems/${p.id}`}>{p.title}</a>
                    </td>
                    <td>{p.difficulty}</td>
                    <td>{(p.tags ?? []).join(", ")}</td>
                    <td class="num">
                      {pick(p, "sampleCount") ?? 0} + {pick(p, "hiddenCount") ?? 0}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Async>
    </Page>
  );
}

export function ProblemEditor({ id }: { id?: string }) {
  const q = useApi(id ? `${PROBLEMS}/${id}` : null);
  const [f, setF] = useState({ title: "", statement: "", difficulty: "easy", tags: "", timeLimitMs: "2000", memoryLimitMb: "256", checker: "tokens" });
  const [samples, setSamples] = useState<Test[]>([]);
  const [tests, setTests] = useState<Test[] | null>(null);
  const [uploadNote, setUploadNote] = useState("");
  useEffect(() => {
    const p = q.data ? (pick(q.data, "problem") ?? q.data) : null;
    if (!p) return;
    setF({ title: p.title ?? "", statement: p.statement ?? "", difficulty: p.difficulty ?? "easy", tags: (p.tags ?? []).join(", "), timeLimitMs: String(p.timeLimitMs ?? 2000), memoryLimitMb: String(p.memoryLimitMb ?? 256), checker: p.checker ?? "tokens" });
    setSamples((p.samples ?? (p.tests ?? []).filter((t: any) => t.kind === "sample")).map((s: any, i: number) => ({ name: s.name ?? String(i + 1), input: s.input ?? "", answer: s.answer ?? s.output ?? "" })));
  }, [q.data]);
  const save = useAction(async () => {
    const body: any = {
      title: f.title,
      statement: f.statement,
      difficulty: f.difficulty,
      tags: f.tags.split(",").map((t) => t.trim()).filter(Boolean),
      timeLimitMs: Number(f.timeLimitMs),
      memoryLimitMb: Number(f.memoryLimitMb),
      checker: f.checker,
      samples,
    };
    if (tests) body.tests = tests.map((t) => (/^[A-Za-z0-9_.\-/]{1,64}$/.test(t.name) ? t : { input: t.input, answer: t.answer }));
    if (id) {
      await patch(`${PROBLEMS}/${id}`, body);
      announce("Problem saved.", "success");
      q.reload();
    } else {
      const r = await post(PROBLEMS, body);
      announce("Problem created.", "success");
      navigate(`/admin/problems/${pick(r.problem ?? r, "id") ?? ""}`);
    }
  });
  if (id && !q.data) return <Async q={q} what="the problem">{() => null}</Async>;
  const set = (k: keyof typeof f, v: string) => setF({ ...f, [k]: v });
  return (
    <Page title={id ? `Problem: ${f.title}` : "New problem"} wide>
      <p>
        <a href="/admin/problems">← All problems</a>
      </p>
      <form
        class="card form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <Field id="pr-title" label="Title">
          <input id="pr-title" required value={f.title} onInput={(e) => set("title", e.currentTarget.value)} />
        </Field>
        <Field id="pr-diff" label="Difficulty">
          <select id="pr-diff" value={f.difficulty} onChange={(e) => set("difficulty", e.currentTarget.value)}>
            <option value="easy">Easy</option>
            <option value="medium">Medium</option>
            <option value="hard">Hard</option>
          </select>
        </Field>
        <Field id="pr-tags" label="Tags (comma separated)">
          <input id="pr-tags" value={f.tags} onInput={(e) => set("tags", e.currentTarget.value)} />
        </Field>
        <Field id="pr-checker" label="Checker">
          <select id="pr-checker" value={f.checker} onChange={(e) => set("checker", e.currentTarget.value)}>
            <option value="exact">Exact</option>
            <option value="tokens">Tokens</option>
            <option value="float:1e-6">Floats (1e-6)</option>
          </select>
        </Field>
        <Field id="pr-tl" label="Time limit per test (ms)">
          <input id="pr-tl" type="number" min={100} max={20000} value={f.timeLimitMs} onInput={(e) => set("timeLimitMs", e.currentTarget.value)} />
        </Field>
        <Field id="pr-ml" label="Memory limit (MiB)">
          <input id="pr-ml" type="number" min={16} max={2048} value={f.memoryLimitMb} onInput={(e) => set("memoryLimitMb", e.currentTarget.value)} />
        </Field>
        <MdField id="pr-statement" label="Statement (Markdown)" value={f.statement} onInput={(v) => set("statement", v)} rows={12} />
        <fieldset class="full">
          <legend>Sample tests (shown to players)</legend>
          {samples.map((s, i) => (
            <div class="sample" key={i}>
              <Field id={`s-in-${i}`} label={`Sample ${i + 1} input`}>
                <textarea id={`s-in-${i}`} rows={3} class="mono" value={s.input} onInput={(e) => setSamples(samples.map((x, j) => (j === i ? { ...x, input: e.currentTarget.value } : x)))} />
              </Field>
              <Field id={`s-out-${i}`} label={`Sample ${i + 1} output`}>
                <textarea id={`s-out-${i}`} rows={3} class="mono" value={s.answer} onInput={(e) => setSamples(samples.map((x, j) => (j === i ? { ...x, answer: e.currentTarget.value } : x)))} />
              </Field>
            </div>
          ))}
          <button type="button" class="secondary small" onClick={() => setSamples([...samples, { name: String(samples.length + 1), input: "", answer: "" }])}>
            Add a sample
          </button>
        </fieldset>
        <fieldset class="full">
          <legend>Hidden tests</legend>
          <label for="pr-tests">Upload .in and .ans files (pairs by name; replaces the hidden tests)</label>
          <input
            id="pr-tests"
            type="file"
            multiple
            accept=".in,.ans,.out"
            onChange={async (e) => {
              const files = e.currentTarget.files;
              if (!files) return;
              const r = await pairTests(files);
              setTests(r.tests);
              setUploadNote(`${r.tests.length} tests ready to save.` + (r.unpaired.length ? ` Missing a partner: ${r.unpaired.join(", ")}.` : ""));
            }}
          />
          {uploadNote && <p role="status">{uploadNote}</p>}
        </fieldset>
        <div class="full row">
          <button type="submit" disabled={save.busy}>
            {save.busy ? "Saving…" : id ? "Save problem" : "Create problem"}
          </button>
          <FormError error={save.error} />
        </div>
      </form>
    </Page>
  );
}

