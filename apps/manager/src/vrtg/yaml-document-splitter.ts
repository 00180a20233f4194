/** Whole documents of a YAML stream, as bytes, not yet parsed. */
export interface RawPart {
  /** The part's bytes, in pieces as they were read. */
  pieces: Buffer[];
  bytes: number;
  /** Its first line's number in the stream, from 1. */
  firstLine: number;
}

/** A document larger than the splitter takes. */
export class DocumentTooLargeError extends Error {
  override name = "DocumentTooLargeError";
  constructor(
    /** The document's number in the stream, from 1. */
    readonly document: number,
    readonly limit: number,
  ) {
    super(`document ${document} is larger than ${limit} bytes`);
  }
}

type LineKind = "start" | "end" | "directive" | "blank" | "content";

const space = (byte: number | undefined) =>
  byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a;

/** What a line is, by its first bytes: YAML's document markers hold at column 0 whatever surrounds them. */
function lineKind(buf: Buffer, start: number, end: number): LineKind {
  const first = buf[start];
  if (
    (first === 0x2d || first === 0x2e) && // "---" or "..."
    buf[start + 1] === first &&
    buf[start + 2] === first &&
    (start + 3 === end || space(buf[start + 3]))
  )
    return first === 0x2d ? "start" : "end";
  if (first === 0x25) return "directive"; // %YAML, %TAG
  let i = start;
  while (i < end && space(buf[i])) i++;
  return i === end || buf[i] === 0x23 ? "blank" : "content"; // blank or a comment
}

/**
 * Splits a YAML stream into parts of whole documents at its `---` lines,
 * without parsing it, so each document's size is known (and a huge one
 * refused) before anything is parsed, and the parts can be parsed one at a
 * time. Comments and directives before a `---` go with the document it
 * starts, so parsing the parts one by one reads what parsing the whole
 * stream does.
 */
export class YamlDocumentSplitter {
  readonly #maxDocumentBytes: number;
  readonly #partBytes: number;
  readonly #parts: RawPart[] = [];
  #part: RawPart = { pieces: [], bytes: 0, firstLine: 1 };
  /** Documents before the current one. */
  #documents = 0;
  /** Where the current document starts in the current part. */
  #documentStart = 0;
  /** The current document has a `---` line or content: a `---` after it starts the next one. */
  #opens = false;
  /** Just after its last `...` line, while only blank lines, comments and directives follow. */
  #afterEnd: number | undefined;
  /** A directive follows that `...`: it belongs to the next document. */
  #directiveAfterEnd = false;
  /** An unfinished line's bytes, from earlier chunks. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #line = 1;
  #atStreamStart = true;

  /**
   * @param maxDocumentBytes the largest document taken
   * @param partBytes a part ends at the first document boundary past this
   * size, so small documents are parsed together. Default: 256 KiB.
   */
  constructor(maxDocumentBytes: number, partBytes = 256 * 1024) {
    this.#maxDocumentBytes = maxDocumentBytes;
    this.#partBytes = partBytes;
  }

  /**
   * Adds the next bytes of the stream.
   *
   * @throws DocumentTooLargeError as soon as a document grows past the limit.
   */
  push(chunk: Buffer): void {
    let from = 0;
    if (this.#partialBytes) {
      const newline = chunk.indexOf(0x0a);
      if (newline === -1) {
        this.#partial.push(chunk);
        this.#partialBytes += chunk.length;
        this.#checkSize(this.#part.bytes + this.#partialBytes);
        return;
      }
      const line = Buffer.concat([...this.#partial, chunk.subarray(0, newline + 1)]);
      this.#partial = [];
      this.#partialBytes = 0;
      this.#scan(line, 0, line.length);
      from = newline + 1;
    }
    const last = chunk.lastIndexOf(0x0a);
    if (last >= from) {
      this.#scan(chunk, from, last + 1);
      from = last + 1;
    }
    if (from < chunk.length) {
      this.#partial.push(chunk.subarray(from));
      this.#partialBytes += chunk.length - from;
    }
    this.#checkSize(this.#part.bytes + this.#partialBytes);
  }

  /**
   * The parts, once the stream has ended.
   *
   * @throws DocumentTooLargeError when the last document is too large.
   */
  end(): RawPart[] {
    if (this.#partialBytes) {
      const line = Buffer.concat(this.#partial);
      this.#partial = [];
      this.#partialBytes = 0;
      this.#scan(line, 0, line.length);
    }
    this.#checkSize(this.#part.bytes);
    if (this.#part.bytes) this.#parts.push(this.#part);
    this.#part = { pieces: [], bytes: 0, firstLine: this.#line };
    return this.#parts;
  }

  /** Reads the whole lines in buf[from, to). */
  #scan(buf: Buffer, from: number, to: number): void {
    let taken = from; // buf[from, taken) is in the current part's pieces
    let at = from;
    while (at < to) {
      const newline = buf.indexOf(0x0a, at);
      const next = newline === -1 || newline >= to ? to : newline + 1;
      let start = at;
      if (this.#atStreamStart) {
        this.#atStreamStart = false;
        if (buf[at] === 0xef && buf[at + 1] === 0xbb && buf[at + 2] === 0xbf) start += 3; // a BOM
      }
      const kind = lineKind(buf, start, next);
      if (kind === "start" && this.#opens) {
        // Directives after a `...` belong to the document this `---` starts.
        const lineAt = this.#part.bytes + (at - taken);
        const boundary =
          this.#afterEnd !== undefined && this.#directiveAfterEnd ? this.#afterEnd : lineAt;
        this.#checkSize(boundary);
        this.#documents++;
        this.#documentStart = boundary;
        if (boundary >= this.#partBytes) {
          this.#take(buf, taken, at);
          taken = at;
          this.#split(boundary);
        }
        this.#afterEnd = undefined;
        this.#directiveAfterEnd = false;
      }
      switch (kind) {
        case "start":
        case "content":
          this.#opens = true;
          this.#afterEnd = undefined;
          this.#directiveAfterEnd = false;
          break;
        case "end":
          this.#opens = true;
          this.#afterEnd = this.#part.bytes + (next - taken);
          this.#directiveAfterEnd = false;
          break;
        case "directive":
          if (this.#afterEnd !== undefined) this.#directiveAfterEnd = true;
          break;
        case "blank":
          break;
      }
      if (buf[next - 1] === 0x0a) this.#line++;
      at = next;
    }
    this.#take(buf, taken, to);
  }

  #take(buf: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.#part.pieces.push(buf.subarray(from, to));
    this.#part.bytes += to - from;
  }

  /** Ends the current part at `cut` bytes, a document boundary; what follows starts the next one. */
  #split(cut: number): void {
    const head: Buffer[] = [];
    const tail: Buffer[] = [];
    let offset = 0;
    for (const piece of this.#part.pieces) {
      if (offset + piece.length <= cut) head.push(piece);
      else if (offset >= cut) tail.push(piece);
      else {
        head.push(piece.subarray(0, cut - offset));
        tail.push(piece.subarray(cut - offset));
      }
      offset += piece.length;
    }
    let tailNewlines = 0;
    for (const piece of tail) for (const byte of piece) if (byte === 0x0a) tailNewlines++;
    this.#parts.push({ pieces: head, bytes: cut, firstLine: this.#part.firstLine });
    this.#part = {
      pieces: tail,
      bytes: this.#part.bytes - cut,
      firstLine: this.#line - tailNewlines,
    };
    this.#documentStart = 0;
  }

  /** @throws DocumentTooLargeError when the current document, ending at `end`, is too large. */
  #checkSize(end: number): void {
    if (end - this.#documentStart > this.#maxDocumentBytes)
      throw new DocumentTooLargeError(this.#documents + 1, this.#maxDocumentBytes);
  }
}
