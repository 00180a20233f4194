import { parseAllDocuments } from "yaml";

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
  const documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const out: SourcedManifest[] = [];
  const list = Array.isArray(documents) ? documents : [documents];
  const many = list.length > 1;
  list.forEach((document, i) => {
    const where = many ? `${source} (document ${i + 1})` : source;
    const [error] = document.errors;
    if (error) {
      const at = error.linePos?.[0];
      throw new ManifestSyntaxError(
        `${where}${at ? `, line ${at.line} column ${at.col}` : ""}: ${error.message.split("\n")[0]}`,
      );
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (
      typeof value === "object" &&
      !Array.isArray(value) &&
      (value as Record<string, unknown>)["kind"] === "List" &&
      Array.isArray((value as Record<string, unknown>)["items"])
    ) {
      ((value as Record<string, unknown>)["items"] as unknown[]).forEach((item, j) =>
        out.push({ manifest: item, source: `${where} (item ${j + 1})` }),
      );
      return;
    }
    out.push({ manifest: value, source: where });
  });
  return out;
}
