import { createHash } from "node:crypto";

/** Longest escaped id kept whole in a file name; longer ones end in a digest. */
const longest = 96;

/**
 * The part of a staging file's name that stands for an export or import id:
 * letters, digits, `_` and `-` as they are, every other byte as `%XX` (so no
 * `/`, quote, `$`, `<` or leading dot reaches a path), and an id whose escaped
 * form is long cut short and ended by 16 hex digits of its SHA-256. The same
 * id always gives the same name, so a provider that restarted finds its files.
 */
export function transferKey(id: string): string {
  const escaped = [...Buffer.from(id, "utf8")]
    .map((b) =>
      /[A-Za-z0-9_-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
  if (escaped.length <= longest) return escaped;
  const digest = createHash("sha256").update(id).digest("hex").slice(0, 16);
  return `${escaped.slice(0, longest - 17)}~${digest}`;
}

/** The files of one transfer in the staging directory. */
export interface TransferFiles {
  /** The bytes: the converted export, or the file being imported. */
  data: string;
  /** The conversion's output while it runs. */
  partial: string;
  /** The record (JSON) that says what the transfer is and how far it got. */
  record: string;
  /** The record being replaced, renamed over `record` once written. */
  recordNext: string;
}

/** Where a transfer's files live in the staging directory `dir`. */
export function transferFiles(dir: string, kind: "export" | "import", id: string): TransferFiles {
  const base = `${dir}/${kind}-${transferKey(id)}`;
  return {
    data: `${base}.data`,
    partial: `${base}.partial`,
    record: `${base}.json`,
    recordNext: `${base}.json.next`,
  };
}

/** The volume an import becomes in its pool once committed. */
export function importedVolumeName(id: string, format: "qcow2" | "raw"): string {
  return `imported-${transferKey(id)}.${format}`;
}
