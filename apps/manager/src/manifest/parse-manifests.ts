import { type Document, parseAllDocuments } from "yaml";

/** One manifest read from a file, with where it came from for error messages. */
export interface SourcedManifest {
  manifest: unknown;
  /** "vm.yaml", or "vm.yaml (document 2)" for the second document of a stream. */
  source: string;
}

/** A file that is not YAML or JSON. */
export class ManifestSyntaxError extends Error {
  override name = "ManifestSyntaxError";
}

/**
 * Reads every manifest in YAML or JSON text: a stream of YAML documents
 * separated by `---`, or one JSON value. Empty documents are skipped; a
 * `kind: List` document contributes its `items`.
 *
 * @throws ManifestSyntaxError naming the source, line and column of the first
 * syntax error.
 */
export function parseManifests(text: string, source: string): SourcedManifest[] {
  return [...parseManifestParts([{ text: () => text, firstLine: 1 }], source)];
}

/** Whole documents of a YAML stream, cut at a `---` line; the text is made when it is parsed. */
export interface StreamPart {
  text: () => string;
  /** Its first line's number in the whole stream, from 1, for error messages. */
  firstLine: number;
}

/**
 * `parseManifests` for a stream already cut into parts at its `---` lines,
 * as the manifests are taken: a part is parsed when the manifests before
 * it have been, so only one part's syntax tree is held at a time, and a
 * caller that stops at a bad manifest parses nothing after it. Documents are
 * numbered, and lines counted, as in the whole stream.
 *
 * @throws ManifestSyntaxError as `parseManifests` does, when the bad document is reached.
 */
export function* parseManifestParts(
  parts: readonly StreamPart[],
  source: string,
): Generator<SourcedManifest> {
  let number = 0;
  for (const part of parts) {
    const parsed = parseAllDocuments(part.text(), { prettyErrors: true, uniqueKeys: true });
    const documents: Document[] = Array.isArray(parsed) ? parsed : [parsed];
    // A stream of one part names its document only when the part holds several.
    const many = parts.length > 1 || documents.length > 1;
    for (const document of documents) {
      number++;
      const where = many ? `${source} (document ${number})` : source;
      const [error] = document.errors;
      if (error) {
        const at = error.linePos?.[0];
        // yaml's own "at line 2, column 1:" counts from the part's start: say it once, from the stream's.
        const message = (error.message.split("\n")[0] ?? "").replace(
          / at line \d+, column \d+:$/,
          "",
        );
        throw new ManifestSyntaxError(
          `${where}${at ? `, line ${at.line + part.firstLine - 1} column ${at.col}` : ""}: ${message}`,
        );
      }
      const value: unknown = document.toJS({ maxAliasCount: 100 });
      if (value === null || value === undefined) continue;
      if (
        typeof value === "object" &&
        !Array.isArray(value) &&
        (value as Record<string, unknown>)["kind"] === "List" &&
        Array.isArray((value as Record<string, unknown>)["items"])
      ) {
        for (const [j, item] of (
          (value as Record<string, unknown>)["items"] as unknown[]
        ).entries())
          yield { manifest: item, source: `${where} (item ${j + 1})` };
        continue;
      }
      yield { manifest: value, source: where };
    }
  }
}
