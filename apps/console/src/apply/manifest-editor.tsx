import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { type Diagnostic, linter, lintGutter } from "@codemirror/lint";
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import { EditorView, keymap, lineNumbers } from "@codemirror/view";
import { useEffect, useRef } from "react";
import { type Problem, readManifests } from "./manifest-problems";
import { problemMessages } from "./problem-messages";

const diagnosticsOf = (problems: readonly Problem[]): Diagnostic[] =>
  problems.map((p) => ({ from: p.from, to: p.to, severity: "error", message: p.message }));

const refuse = StateEffect.define<readonly Problem[]>();

/** What the manager refused in the text as it is; forgotten at the first edit. */
const refusedField = StateField.define<readonly Problem[]>({
  create: () => [],
  update(value, transaction) {
    for (const effect of transaction.effects) if (effect.is(refuse)) return effect.value;
    return transaction.docChanged ? [] : value;
  },
});

/**
 * Marks YAML syntax and manifest problems as people type, before any call,
 * and what the manager refused until the text changes. One linter marks both,
 * so that neither clears the other's marks.
 */
const manifestLinter = linter(
  (view) => {
    const read = readManifests(view.state.doc.toString());
    const own = read.ok ? [] : diagnosticsOf(read.problems);
    return [...own, ...diagnosticsOf(view.state.field(refusedField))];
  },
  {
    delay: 300,
    needsRefresh: (update) =>
      update.transactions.some((t) => t.effects.some((effect) => effect.is(refuse))),
  },
);

/**
 * A CodeMirror 6 editor of YAML manifests. `refused` (what the manager said
 * of the last Apply) is marked at its place in the text until it is edited.
 */
export function ManifestEditor({
  initial,
  onChange,
  refused,
}: {
  initial: string;
  onChange: (text: string) => void;
  refused: readonly Problem[];
}) {
  const parent = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView>(undefined);
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    if (!parent.current) return;
    const editor = new EditorView({
      parent: parent.current,
      state: EditorState.create({
        // The editor keeps its own text from here on; `initial` only seeds it.
        doc: initial,
        extensions: [
          lineNumbers(),
          history(),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          syntaxHighlighting(defaultHighlightStyle),
          yaml(),
          refusedField,
          manifestLinter,
          lintGutter(),
          problemMessages,
          EditorView.contentAttributes.of({ "aria-label": "manifest" }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) changed.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = undefined;
    };
  }, [initial]);

  useEffect(() => {
    view.current?.dispatch({ effects: refuse.of(refused) });
  }, [refused]);

  return <div className="manifest-editor" ref={parent} />;
}
