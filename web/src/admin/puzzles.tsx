import { useEffect, useState } from "preact/hooks";
import { del, patch, post } from "../api.ts";
import { Markdown } from "../md.tsx";
import { navigate } from "../router.tsx";
import { announce } from "../state.ts";
import { Async, Field, FormError, Page, pick, useAction, useApi } from "../ui.tsx";

interface Hint {
  text: string;
  costPoints: string;
}

/** A Markdown textarea with a preview toggle. */
export function MdField({ id, label, value, onInput, rows = 8, required }: { id: string; label: string; value: string; onInput: (v: string) => void; rows?: number; required?: boolean }) {
  const [preview, setPreview] = useState(false);
  return (
    <div class="field full">
      <div class="row between">
        <label for={id}>{label}</label>
        <button type="button" class="link" aria-pressed={preview} aria-controls={id} onClick={() => setPreview(!preview)}>
          {preview ? "Edit" : "Preview"}
        </button>
      </div>
      {preview ? (
        <div id={id} class="preview" tabIndex={0} aria-label={`${label} preview`}>
          {value.trim() ? <Markdown source={value} /> : <p class="muted">Nothing to preview.</p>}
        </div>
      ) : (
        <textarea id={id} rows={rows} required={required} value={value} onInput={(e) => onInput(e.currentTarget.value)} />
      )}
    </div>
  );
}

const lines = (s: string) =>
  s
    .split("\n")
    .map((x) => x.trim())
    .filter(Boolean);

export function PuzzleEditor({ eventKey, id }: { eventKey: string; id?: string }) {
  const base = `/api/v1/events/${encodeURIComponent(eventKey)}/puzzles`;
  const q = useApi(id ? `${base}/${id}` : null);
  const [title, setTitle] = useState("");
  const [story, setStory] = useState("");
  const [body, setBody] = useState("");
  const [answers, setAnswers] = useState("");
  const [close, setClose] = useState("");
  const [hints, setHints] = useState<Hint[]>([]);
  const [normalize, setNormalize] = useState("");
  const [basePoints, setBasePoints] = useState("");
  useEffect(() => {
    const p = q.data ? (pick(q.data, "puzzle") ?? q.data) : null;
    if (!p) return;
    setTitle(p.title ?? "");
    setStory(p.story ?? "");
    setBody(p.body ?? "");
    setAnswers((p.answers ?? []).join("\n"));
    setClose((p.closeAnswers ?? []).join("\n"));
    setHints((p.hints ?? []).map((h: any) => ({ text: h.text, costPoints: String(h.costPoints ?? "") })));
    setNormalize(p.normalize ?? "");
    setBasePoints(p.scoring?.basePoints !== undefined ? String(p.scoring.basePoints) : "");
  }, [q.data]);
  const save = useAction(async () => {
    const payload: any = {
      title,
      body,
      story: story.trim() ? story : null,
      answers: lines(answers),
      closeAnswers: lines(close),
      hints: hints.filter((h) => h.text.trim()).map((h) => (h.costPoints === "" ? { text: h.text } : { text: h.text, costPoints: Number(h.costPoints) })),
      normalize: normalize || null,
    };
    if (basePoints !== "") payload.scoring = { basePoints: Number(basePoints) };
    if (!payload.answers.length) throw new Error("Give at least one accepted answer.");
    if (id) {
      await patch(`${base}/${id}`, payload);
      announce("Puzzle saved.", "success");
      q.reload();
    } else {
      await post(base, payload);
      announce("Puzzle created.", "success");
      navigate(`/admin/events/${eventKey}`);
    }
  });
  const remove = useAction(async () => {
    await del(`${base}/${id}`);
    announce("Puzzle deleted.", "success");
    navigate(`/admin/events/${eventKey}`);
  });
  if (id && !q.data) return <Async q={q} what="the puzzle">{() => null}</Async>;
  return (
    <Page title={id ? `Puzzle: ${title}` : "New puzzle"} wide>
      <p>
        <a href={`/admin/events/${eventKey}`}>← Back to the event</a>
      </p>
      <form
        class="card form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <Field id="pz-title" label="Title">
          <input id="pz-title" required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </Field>
        <Field id="pz-norm" label="Answer matching">
          <select id="pz-norm" value={normalize} onChange={(e) => setNormalize(e.currentTarget.value)}>
            <option value="">Event default</option>
            <option value="full">Letters and digits only, any case</option>
            <option value="lower">Lower case only</option>
            <option value="exact">Exact (trimmed)</option>
          </select>
        </Field>
        <MdField id="pz-story" label="Story block (Markdown, optional)" value={story} onInput={setStory} rows={4} />
        <MdField id="pz-body" label="Puzzle (Markdown)" value={body} onInput={setBody} rows={10} />
        <Field id="pz-answers" label="Accepted answers (one per line)">
          <textarea id="pz-answers" rows={3} required value={answers} onInput={(e) => setAnswers(e.currentTarget.value)} />
        </Field>
        <Field id="pz-close" label="Close answers (one per line)" hint="Players who give one of these are told they are close.">
          <textarea id="pz-close" rows={3} value={close} onInput={(e) => setClose(e.currentTarget.value)} aria-describedby="pz-close-hint" />
        </Field>
        <Field id="pz-base" label="Base points (optional override)">
          <input id="pz-base" type="number" min={0} value={basePoints} onInput={(e) => setBasePoints(e.currentTarget.value)} />
        </Field>
        <fieldset class="full">
          <legend>Hints</legend>
          {hints.length === 0 && <p class="muted">No hints.</p>}
          {hints.map((h, i) => (
            <div class="hint-row" key={i}>
              <Field id={`hint-${i}`} label={`Hint ${i + 1}`}>
                <textarea id={`hint-${i}`} rows={2} value={h.text} onInput={(e) => setHints(hints.map((x, j) => (j === i ? { ...x, text: e.currentTarget.value } : x)))} />
              </Field>
              <Field id={`hint-cost-${i}`} label="Cost (points)">
                <input id={`hint-cost-${i}`} type="number" min={0} value={h.costPoints} placeholder="default" onInput={(e) => setHints(hints.map((x, j) => (j === i ? { ...x, costPoints: e.currentTarget.value } : x)))} />
              </Field>
              <button type="button" class="secondary small" onClick={() => setHints(hints.filter((_, j) => j !== i))} aria-label={`Remove hint ${i + 1}`}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" class="secondary small" onClick={() => setHints([...hints, { text: "", costPoints: "" }])}>
            Add a hint
          </button>
        </fieldset>
        <div class="full row">
          <button type="submit" disabled={save.busy}>
            {save.busy ? "Saving…" : id ? "Save puzzle" : "Create puzzle"}
          </button>
          {id && (
            <button type="button" class="danger" disabled={remove.busy} onClick={() => confirm("Delete this puzzle?") && remove.run()}>
              Delete
            </button>
          )}
        </div>
        <div class="full">
          <FormError error={save.error || remove.error} />
        </div>
      </form>
    </Page>
  );
}
