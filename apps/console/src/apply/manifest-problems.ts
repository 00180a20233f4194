import { ProviderError } from "@virtrigaud/contracts";
import { decodeManifest } from "@virtrigaud/manifest";
import type { Resource } from "@virtrigaud/proto/manager";
import { type Document, parseAllDocuments } from "yaml";
import { manifestPathOf } from "./field-path";
import { type TextRange, rangeOfPath } from "./manifest-ranges";

/** What is wrong with the editor's text, and where. */
export interface Problem extends TextRange {
  /** For people: the field's path and what is wrong with it. */
  message: string;
}

/** One document of the editor's text, and the Resource it reads as. */
interface ReadDocument {
  doc: Document;
  resource: Resource;
}

/** The editor's text read: its documents, or what stops them being applied. */
export type ReadManifests =
  { ok: true; documents: ReadDocument[] } | { ok: false; problems: Problem[] };

/** A range cut at the end of the line it starts on, so a nested field marks only its key's line. */
function firstLineOf(text: string, range: TextRange): TextRange {
  const end = text.indexOf("\n", range.from);
  return { from: range.from, to: end === -1 || end > range.to ? range.to : end };
}

/**
 * Where `error` puts its problem in `doc`: an INVALID_SPEC error at its field
 * (the manager's path or the codec's), anything else at the document's start.
 */
export function problemOf(text: string, doc: Document, error: unknown): Problem {
  const failure = ProviderError.from(error);
  // A request rule's violation names its field only in the message.
  const named = /^(resource\.\S+): ([^]*)$/.exec(failure.rawMessage);
  const field = failure.field ?? named?.[1];
  const reason = failure.field ? failure.rawMessage : (named?.[2] ?? failure.rawMessage);
  const range = rangeOfPath(doc, field ? manifestPathOf(field) : []);
  return { ...firstLineOf(text, range), message: field ? `${field}: ${reason}` : reason };
}

/**
 * Reads the editor's YAML as the manager's resources, as vrtg apply would:
 * YAML syntax first (every error, at its place), then each document through
 * the manifest codec (its first problem, at its field). Empty documents are
 * skipped.
 */
export function readManifests(text: string): ReadManifests {
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
  const all: Document[] = Array.isArray(docs) ? docs : [docs];
  const syntax = all.flatMap((doc) =>
    doc.errors.map((error) => ({
      from: error.pos[0],
      to: Math.max(error.pos[1], error.pos[0] + 1),
      message: error.message.split("\n")[0] ?? error.message,
    })),
  );
  if (syntax.length > 0) return { ok: false, problems: syntax };
  const documents: ReadDocument[] = [];
  const problems: Problem[] = [];
  for (const doc of all) {
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    try {
      documents.push({ doc, resource: decodeManifest(value) });
    } catch (err) {
      problems.push(problemOf(text, doc, err));
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, documents };
}
