import { type Document, isMap, isPair, isScalar, isSeq, type Node } from "yaml";
import type { PathStep } from "./field-path";

/** A span of the editor's text, in characters from its start. */
export interface TextRange {
  from: number;
  to: number;
}

function rangeOfNode(node: Node): TextRange | undefined {
  const range = node.range;
  return range ? { from: range[0], to: range[1] } : undefined;
}

/**
 * The text that shows the field at `steps` in `doc`: a scalar field's key and
 * value, a nested field's key, a list item. A field the document lacks (one
 * that is required) is shown at the nearest field above it that it has; a
 * document with none of them at its start.
 */
export function rangeOfPath(doc: Document, steps: readonly PathStep[]): TextRange {
  let node: unknown = doc.contents;
  let best: TextRange = rangeOfNode(doc.contents as Node) ?? { from: 0, to: 0 };
  for (const step of steps) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step),
      );
      if (!pair || !isScalar(pair.key)) break;
      const key = rangeOfNode(pair.key);
      const value = pair.value as Node | null;
      if (key) {
        const valueRange = isScalar(value) ? rangeOfNode(value) : undefined;
        best = { from: key.from, to: valueRange?.to ?? key.to };
      }
      node = value;
    } else if (isSeq(node) && typeof step === "number") {
      const item = node.items[step] as Node | undefined;
      if (!item) break;
      best = rangeOfNode(item) ?? best;
      node = item;
    } else break;
  }
  return best;
}
