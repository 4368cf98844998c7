/**
 * CodeMirror 6, loaded only when a code editor is shown (its own chunk), so
 * the first screen stays small. The language mode is swapped in place.
 */
import { basicSetup, EditorView } from "codemirror";
import { Compartment, EditorState } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import type { Extension } from "@codemirror/state";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";

// Colours from CSS variables, so highlighting keeps its contrast in the dark theme too.
const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.operatorKeyword, t.modifier], color: "var(--hl-keyword)" },
  { tag: [t.string, t.special(t.string), t.character], color: "var(--hl-string)" },
  { tag: [t.comment, t.lineComment, t.blockComment], color: "var(--hl-comment)", fontStyle: "italic" },
  { tag: [t.number, t.bool, t.null, t.atom], color: "var(--hl-number)" },
  { tag: [t.function(t.variableName), t.function(t.propertyName), t.definition(t.function(t.variableName))], color: "var(--hl-function)" },
  { tag: [t.typeName, t.className, t.definition(t.typeName)], color: "var(--hl-type)" },
  { tag: [t.processingInstruction, t.meta], color: "var(--hl-meta)" },
]);

export interface CodeEditor {
  view: EditorView;
  getValue(): string;
  setValue(v: string): void;
  setLanguage(id: string): void;
  setReadOnly(ro: boolean): void;
  destroy(): void;
}

/** Each language mode is its own chunk: a Python player never downloads the C++ grammar. */
async function modeFor(id: string): Promise<Extension> {
  if (id.startsWith("python")) return (await import("@codemirror/lang-python")).python();
  if (id === "typescript") return (await import("@codemirror/lang-javascript")).javascript({ typescript: true });
  if (id.startsWith("javascript")) return (await import("@codemirror/lang-javascript")).javascript();
  if (id === "c" || id === "cpp") return (await import("@codemirror/lang-cpp")).cpp();
  return [];
}

const theme = EditorView.theme({
  "&": { fontSize: "14px", border: "1px solid var(--border)", borderRadius: "8px", background: "var(--surface)", color: "var(--text)" },
  ".cm-content": { fontFamily: "var(--mono)", caretColor: "var(--text)" },
  ".cm-gutters": { background: "var(--surface-2)", color: "var(--muted)", border: "none" },
  "&.cm-focused": { outline: "3px solid var(--focus)", outlineOffset: "2px" },
  ".cm-activeLine": { background: "var(--active-line)" },
  ".cm-activeLineGutter": { background: "var(--active-line)" },
  ".cm-cursor": { borderLeftColor: "var(--text)" },
  ".cm-selectionBackground, &.cm-focused .cm-selectionBackground": { background: "var(--selection) !important" },
});

export function createEditor(parent: HTMLElement, opts: { value: string; language: string; label: string; onChange?: (v: string) => void; readOnly?: boolean }): CodeEditor {
  const lang = new Compartment();
  const ro = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.value,
      extensions: [
        syntaxHighlighting(highlight),
        basicSetup,
        // Tab indents; Esc then Tab leaves the editor (CodeMirror's accessible escape hatch).
        keymap.of([indentWithTab]),
        lang.of([]),
        ro.of(EditorState.readOnly.of(!!opts.readOnly)),
        theme,
        EditorView.contentAttributes.of({ "aria-label": opts.label }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) opts.onChange?.(u.state.doc.toString());
        }),
      ],
    }),
  });
  // The newest request wins if the language changes again while a grammar is loading.
  let want = "";
  const setLanguage = (id: string) => {
    want = id;
    modeFor(id).then(
      (mode) => {
        if (want === id && !destroyed) view.dispatch({ effects: lang.reconfigure(mode) });
      },
      () => {
        /* plain text editing still works without highlighting */
      },
    );
  };
  let destroyed = false;
  setLanguage(opts.language);
  return {
    view,
    getValue: () => view.state.doc.toString(),
    setValue: (v) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: v } }),
    setLanguage,
    setReadOnly: (r) => view.dispatch({ effects: ro.reconfigure(EditorState.readOnly.of(r)) }),
    destroy: () => {
      destroyed = true;
      view.destroy();
    },
  };
}
