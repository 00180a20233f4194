import { describe, expect, it } from "@jest/globals";
import { parseManifestParts, parseManifests } from "../manifest/parse-manifests.js";
import {
  DocumentTooLargeError,
  type RawPart,
  YamlDocumentSplitter,
} from "./yaml-document-splitter.js";

function split(text: string, chunkBytes: number, partBytes: number): RawPart[] {
  const bytes = Buffer.from(text);
  const splitter = new YamlDocumentSplitter(1024 * 1024, partBytes);
  for (let at = 0; at < bytes.length; at += chunkBytes)
    splitter.push(bytes.subarray(at, at + chunkBytes));
  return splitter.end();
}

/** What parsing gives: the manifests with their sources, or the error. */
function outcome(run: () => Iterable<unknown>): unknown {
  try {
    return [...run()];
  } catch (err) {
    return (err as Error).message;
  }
}

function parsedInParts(text: string, chunkBytes: number, partBytes: number): unknown {
  const parts = split(text, chunkBytes, partBytes).map((part) => ({
    firstLine: part.firstLine,
    text: () => Buffer.concat(part.pieces).toString("utf8"),
  }));
  return outcome(() => parseManifestParts(parts, "f.yaml"));
}

// Streams with the shapes the split has to get right: markers with content
// on their line, comments and directives before a `---`, `...` ends, empty
// documents, CRLF, a BOM, block scalars, JSON, and syntax errors.
const streams = [
  "a: 1\n",
  "a: 1\n---\nb: 2\n",
  "---\na: 1\n---\nb: 2\n",
  "a: 1\n---\n---\nb: 2\n",
  "a: 1\n---\n",
  "# a comment\n---\na: 1\n",
  "\uFEFF# a comment\n---\na: 1\n---\nb: 2\n",
  "%YAML 1.2\n---\na: 1\n...\n%YAML 1.2\n---\nb: 2\n",
  "a: yes\n...\n%YAML 1.1\n---\nb: yes\n", // YAML 1.1 reads the second yes as true
  "a: 1\n...\n# between\n---\nb: 2\n",
  "a: 1\n...\nb: 2\n---\nc: 3\n",
  "--- {a: 1}\n--- [1, 2]\n--- !!str x\n",
  "a: 1\r\n---\r\nb: 2\r\n",
  "a: |\n  ---not a marker\n  x\n---\nb: >\n  y\n",
  "---x: 1\n",
  '{"kind": "VMClass", "spec": {"cpu": 2}}',
  "kind: List\nitems:\n  - a: 1\n  - b: 2\n---\nc: 3\n",
  "a: 1\n---\nb: [1, 2\nc: 3\n",
  "a: 1\n---\nb: 2\n---\nb: 2\nb: 3\n",
  "",
  "# only a comment\n",
];

describe("YamlDocumentSplitter", () => {
  it.each(streams)(
    "cuts %j so that parsing the parts reads what parsing the whole does",
    (text) => {
      const whole = outcome(() => parseManifests(text, "f.yaml"));
      for (const chunkBytes of [1, 2, 3, 7, 1000])
        for (const partBytes of [1, 10, 1 << 20])
          expect(parsedInParts(text, chunkBytes, partBytes)).toEqual(whole);
    },
  );

  it("counts lines from the start of the stream in a later part's syntax error", () => {
    expect(parsedInParts("a: 1\n---\nb: 2\n---\nc: [1\nd: 2\n", 3, 1)).toMatch(
      /^f\.yaml \(document 3\), line 6 column 1: /,
    );
  });

  it("puts small documents together and cuts parts at document boundaries", () => {
    const doc = "a: 1\n---\n";
    const parts = split(doc.repeat(100), 64, 100);
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.length).toBeLessThan(20);
    for (const part of parts.slice(1))
      expect(Buffer.concat(part.pieces).toString().startsWith("---\n")).toBe(true);
  });

  it("refuses a document past the limit as soon as it grows past it, naming it", () => {
    const splitter = new YamlDocumentSplitter(100);
    splitter.push(Buffer.from("a: 1\n---\nb: "));
    const line = Buffer.from("x".repeat(30));
    expect(() => {
      for (let i = 0; i < 10; i++) splitter.push(line); // one line, never ended
    }).toThrow(new DocumentTooLargeError(2, 100));
  });

  it("takes a document of exactly the limit", () => {
    const doc = `a: ${"x".repeat(96)}\n`; // 100 bytes with its newline
    const splitter = new YamlDocumentSplitter(100);
    splitter.push(Buffer.from(`${doc}---\n${"b: 1\n"}`));
    expect(splitter.end().reduce((n, p) => n + p.bytes, 0)).toBe(109);
    expect(() => new YamlDocumentSplitter(99).push(Buffer.from(`${doc}---\n`))).toThrow(
      DocumentTooLargeError,
    );
  });
});
