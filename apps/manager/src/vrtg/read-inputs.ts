import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { type SourcedManifest, parseManifestParts } from "../manifest/parse-manifests.js";
import { CliError, type Io, exitCodes } from "./common.js";
import { InvalidUtf8Error, Utf8Check } from "./utf8-check.js";
import {
  DocumentTooLargeError,
  type RawPart,
  YamlDocumentSplitter,
} from "./yaml-document-splitter.js";

/** How much vrtg reads before it parses anything. */
interface InputLimits {
  /** The most one document may be: the manager takes at most 4 MiB in one request. */
  maxDocumentBytes: number;
  /**
   * The most all of a command's inputs together may be: they are held until
   * all are read, so that a refusal costs no parsing.
   */
  maxInputBytes: number;
}

const limits: InputLimits = {
  maxDocumentBytes: 4 * 1024 * 1024,
  maxInputBytes: 64 * 1024 * 1024,
};

const mib = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 100) / 100} MiB`;

interface RawFile {
  source: string;
  parts: RawPart[];
}

function tooMuch(source: string): CliError {
  return new CliError(
    `${source}: the manifests given come to more than ${mib(limits.maxInputBytes)}, the most vrtg reads at once; apply them in parts`,
    exitCodes.invalid,
  );
}

/**
 * Reads one input to its end, checking as it goes that it is UTF-8, that no
 * document is larger than the limit and that all inputs together stay
 * within theirs, and cuts it into parts of whole documents; nothing is parsed yet.
 */
async function readDocuments(
  input: AsyncIterable<Uint8Array>,
  source: string,
  read: { bytes: number },
): Promise<RawFile> {
  const utf8 = new Utf8Check();
  const splitter = new YamlDocumentSplitter(limits.maxDocumentBytes);
  try {
    for await (const chunk of input) {
      read.bytes += chunk.length;
      if (read.bytes > limits.maxInputBytes) throw tooMuch(source);
      splitter.push(utf8.push(chunk));
    }
    utf8.end();
    return { source, parts: splitter.end() };
  } catch (err) {
    if (err instanceof InvalidUtf8Error)
      throw new CliError(
        `${source}: not UTF-8: an invalid byte at offset ${err.offset} (line ${err.line})`,
        exitCodes.invalid,
      );
    if (err instanceof DocumentTooLargeError)
      throw new CliError(
        `${source} (document ${err.document}): larger than ${mib(err.limit)}, the most the manager takes in one request`,
        exitCodes.invalid,
      );
    throw err;
  }
}

/**
 * Reads the manifests `-f` names: files, directories (their .yaml, .yml and
 * .json files, by name) or "-" for standard input. Everything is read, and
 * checked against `limits`, before anything is parsed; then the manifests
 * are parsed a part at a time as they are taken.
 *
 * @throws CliError for a path that cannot be read, an input that is not
 * UTF-8 or is too large; the manifests, for a document that does not parse.
 */
export async function readInputs(paths: string[], io: Io): Promise<Iterable<SourcedManifest>> {
  const files: RawFile[] = [];
  const read = { bytes: 0 };
  for (const path of paths) {
    if (path === "-") {
      files.push(await readDocuments(io.stdin(), "<stdin>", read));
      continue;
    }
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new CliError(`${path}: no such file or directory`, exitCodes.usage);
    }
    const names = info.isDirectory()
      ? (await readdir(path))
          .filter((f) => /\.(ya?ml|json)$/.test(f))
          .sort()
          .map((f) => join(path, f))
      : [path];
    for (const file of names) {
      const fileInfo = file === path ? info : await stat(file);
      // A file known to be too large is refused before it is opened.
      if (fileInfo.isFile() && read.bytes + fileInfo.size > limits.maxInputBytes)
        throw tooMuch(file);
      files.push(await readDocuments(createReadStream(file), file, read));
    }
  }
  return manifestsOf(files);
}

function* manifestsOf(files: RawFile[]): Generator<SourcedManifest> {
  for (const { source, parts } of files) {
    const texts = parts.map((part) => ({
      firstLine: part.firstLine,
      text: () => {
        const text = Buffer.concat(part.pieces, part.bytes).toString("utf8");
        part.pieces = []; // parsed once: let the bytes go
        return text;
      },
    }));
    yield* parseManifestParts(texts, source);
  }
}
