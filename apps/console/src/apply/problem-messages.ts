import { forEachDiagnostic, setDiagnosticsEffect } from "@codemirror/lint";
import { RangeSetBuilder } from "@codemirror/state";
import {
  Decoration,
  type DecorationSet,
  type EditorView,
  ViewPlugin,
  type ViewUpdate,
  WidgetType,
} from "@codemirror/view";

/** A problem's message, written after the end of the line it marks. */
class ProblemMessage extends WidgetType {
  constructor(readonly message: string) {
    super();
  }
  override eq(other: ProblemMessage): boolean {
    return other.message === this.message;
  }
  toDOM(): HTMLElement {
    const span = document.createElement("span");
    span.className = "cm-problem-message";
    span.textContent = this.message;
    return span;
  }
}

function messagesOf(view: EditorView): DecorationSet {
  // One message per line, the first found there: a line with several says the rest in its tooltip.
  const byLine = new Map<number, string>();
  forEachDiagnostic(view.state, (diagnostic, from) => {
    const line = view.state.doc.lineAt(from);
    if (!byLine.has(line.to)) byLine.set(line.to, diagnostic.message);
  });
  const builder = new RangeSetBuilder<Decoration>();
  for (const [end, message] of [...byLine].sort(([a], [b]) => a - b))
    builder.add(end, end, Decoration.widget({ widget: new ProblemMessage(message), side: 1 }));
  return builder.finish();
}

/**
 * Shows each marked problem's message beside its line, as well as in the
 * lint tooltip: people see why without hovering.
 */
export const problemMessages = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = messagesOf(view);
    }
    update(update: ViewUpdate) {
      const marked = update.transactions.some((t) =>
        t.effects.some((e) => e.is(setDiagnosticsEffect)),
      );
      if (marked || update.docChanged) this.decorations = messagesOf(update.view);
    }
  },
  { decorations: (plugin) => plugin.decorations },
);
