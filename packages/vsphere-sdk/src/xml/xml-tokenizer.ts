/**
 * A strict, non-validating XML tokenizer for the answers the SDK reads: text
 * is written in chunks and elements, attributes and text are handed on as
 * they complete. It does what SOAP answers need and refuses the rest: no
 * DOCTYPE (so no entity is ever declared), only the predefined entities and
 * character references, and well-formedness checked as it reads (names,
 * quoting, duplicate attributes, matching end tags, one root, characters XML
 * allows). It scans with the string searches and sticky regular expressions
 * V8 runs natively, so little of its work waits for the JIT: a process's
 * first answer is read nearly as fast as its later ones.
 */

/** What the tokenizer hands on, in document order. */
export interface XmlHandler {
  /** An attribute of the element about to open (all come before its `openTag`). */
  attribute(name: string, value: string): void;
  /** An element opens (a self-closing one is followed by its `closeTag`). */
  openTag(name: string): void;
  /** The innermost open element closes. */
  closeTag(): void;
  /** Text or CDATA inside the root element, entities decoded; one text may come in pieces. */
  text(text: string): void;
  /** A DOCTYPE: the tokenizer refuses it after telling the handler (which may throw its own error). */
  doctype(): void;
}

/** XML that is not well-formed; the message starts with `line:column:`. */
export class XmlSyntaxError extends Error {
  override readonly name = "XmlSyntaxError";
}

// An XML Name, loosely for characters beyond Latin-1 (they are rare in answers).
const nameAt = /[A-Za-z_:\u00C0-\uFFFF][-\w.:\u00B7\u00C0-\uFFFF]*/y;
// Characters XML 1.0 does not allow anywhere (lone surrogates cannot come out of UTF-8 decoding).
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const forbiddenChar = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
const reference = /&(?:#x([0-9A-Fa-f]+);|#([0-9]+);|([A-Za-z_:][-\w.:]*);)?/g;
const predefined: Readonly<Record<string, string>> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
};
const onlySpace = /^[ \t\r\n]*$/;
const lineBreak = /\r\n?/g;
const spaceInValue = /[\t\n\r]/g;
/** The longest start or end tag read across chunks: bounds how often a tag is rescanned. */
const maxTagLength = 1 << 16;

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** A reference that is not one XML allows, at `index` of its text. */
class BadReference extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/** `text` with its references replaced. @throws BadReference */
function decodeReferences(text: string): string {
  return text.replace(
    reference,
    (
      ref: string,
      hex: string | undefined,
      dec: string | undefined,
      entity: string | undefined,
      index: number,
    ) => {
      if (hex !== undefined || dec !== undefined) {
        const code = hex !== undefined ? parseInt(hex, 16) : parseInt(dec!, 10);
        if (!isXmlChar(code)) throw new BadReference(`${ref} is not a character XML allows`, index);
        return String.fromCodePoint(code);
      }
      if (entity === undefined) throw new BadReference("an & that begins no reference", index);
      if (!Object.hasOwn(predefined, entity)) {
        throw new BadReference(`undefined entity ${ref}`, index);
      }
      return predefined[entity]!;
    },
  );
}

/** Markup whose end is searched for as a string: its content is text or skipped. */
const enum Section {
  None,
  Comment,
  Cdata,
  Instruction,
}

const sectionEnds = ["", "-->", "]]>", "?>"] as const;

/** Reads one document: `write` its chunks in order, then `close`. */
export class XmlTokenizer {
  /** The text not consumed yet starts at `pos` of `buf`. */
  private buf = "";
  private pos = 0;
  /** Characters before `buf`, and the line breaks among them, for positions in errors. */
  private offset = 0;
  private lines = 0;
  private lineStart = 0;
  /** True when `buf` has a character that text must be checked for (& \r ]). */
  private special = false;
  private readonly open: string[] = [];
  private sawRoot = false;
  private section = Section.None;
  /** The attributes of the start tag being read: name, value, name, value. */
  private readonly attributes: string[] = [];

  constructor(private readonly handler: XmlHandler) {}

  /**
   * Reads the next chunk of the document.
   *
   * @throws XmlSyntaxError at the first thing that is not well-formed XML;
   * whatever the handler throws.
   */
  write(chunk: string): void {
    const forbidden = chunk.search(forbiddenChar);
    this.rebase(chunk);
    if (forbidden >= 0) {
      // Read up to it first: an earlier error is the one to report.
      const at = this.buf.length - chunk.length + forbidden;
      this.buf = this.buf.slice(0, at);
      this.read(false);
      this.fail(at, "a character XML does not allow");
    }
    this.read(false);
  }

  /**
   * Ends the document.
   *
   * @throws XmlSyntaxError when it ends inside markup or an element, or has no root element.
   */
  close(): void {
    this.read(true);
    const end = this.buf.length;
    if (this.section !== Section.None)
      this.fail(end, "the document ends inside a comment or CDATA");
    if (this.pos < end) this.fail(end, "the document ends inside a tag");
    const inner = this.open[this.open.length - 1];
    if (inner !== undefined) this.fail(end, `the document ends before </${inner}>`);
    if (!this.sawRoot) this.fail(end, "the document has no root element");
  }

  /** Drops the consumed text (counting its line breaks) and appends `chunk`. */
  private rebase(chunk: string): void {
    const { buf, pos } = this;
    for (let i = buf.indexOf("\n"); i >= 0 && i < pos; i = buf.indexOf("\n", i + 1)) {
      this.lines++;
      this.lineStart = this.offset + i + 1;
    }
    this.offset += pos;
    this.buf = pos < buf.length ? buf.slice(pos) + chunk : chunk;
    this.pos = 0;
    const next = this.buf;
    this.special = next.includes("&") || next.includes("\r") || next.includes("]]>");
  }

  private fail(at: number, message: string): never {
    let line = this.lines;
    let lineStart = this.lineStart;
    const buf = this.buf;
    for (let i = buf.indexOf("\n"); i >= 0 && i < at; i = buf.indexOf("\n", i + 1)) {
      line++;
      lineStart = this.offset + i + 1;
    }
    throw new XmlSyntaxError(`${line + 1}:${this.offset + at - lineStart + 1}: ${message}`);
  }

  /** Consumes what is complete in `buf`; at the end of the document (`final`) text runs to its end. */
  private read(final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    let pos = this.pos;
    while (pos < n) {
      if (this.section !== Section.None) {
        pos = this.readSection(buf, pos, n);
        // (A method, so that the compiler does not take the section as unchanged.)
        if (this.inSection()) break;
        continue;
      }
      if (buf.charCodeAt(pos) !== 60 /* < */) {
        let end = buf.indexOf("<", pos);
        if (end < 0) end = final ? n : this.textEnd(buf, pos, n);
        if (end === pos) break;
        this.text(buf, pos, end);
        pos = end;
        continue;
      }
      if (pos + 1 >= n) break;
      const next = buf.charCodeAt(pos + 1);
      let after: number;
      if (next === 47 /* / */) after = this.endTag(buf, pos, n);
      else if (next === 33 /* ! */) after = this.declaration(buf, pos, n);
      else if (next === 63 /* ? */) after = this.instruction(buf, pos, n);
      else after = this.startTag(buf, pos, n);
      if (after < 0) {
        if (n - pos > maxTagLength) this.fail(pos, `a tag longer than ${maxTagLength} characters`);
        break;
      }
      pos = after;
    }
    this.pos = pos;
  }

  /**
   * Where text that runs to the end of the chunk can be cut: before a
   * reference, a `]]` or a `\r` that the next chunk may complete.
   */
  private textEnd(buf: string, pos: number, n: number): number {
    let end = n;
    for (let c = buf.charCodeAt(end - 1); end > n - 2 && (c === 93 || c === 13);) {
      c = buf.charCodeAt(--end - 1);
    }
    const amp = buf.lastIndexOf("&", end - 1);
    if (amp >= pos && amp > end - 32) {
      const semicolon = buf.indexOf(";", amp);
      if (semicolon < 0 || semicolon >= end) end = amp;
    }
    return Math.max(pos, end);
  }

  /** Hands on text from `start` to `end` of `buf`, checked and decoded. */
  private text(buf: string, start: number, end: number): void {
    let text = buf.slice(start, end);
    if (this.open.length === 0) {
      if (!onlySpace.test(text)) this.fail(start, "text outside the root element");
      return;
    }
    if (this.special) {
      if (text.includes("]]>")) this.fail(start + text.indexOf("]]>"), "]]> in text");
      if (text.includes("\r")) text = text.replace(lineBreak, "\n");
      if (text.includes("&")) text = this.decoded(text, start);
    }
    this.handler.text(text);
  }

  private decoded(text: string, at: number): string {
    try {
      return decodeReferences(text);
    } catch (err) {
      if (!(err instanceof BadReference)) throw err;
      return this.fail(at + err.index, err.message);
    }
  }

  /** The end of a name at `at`, or -1 when there is none there. */
  private nameEnd(buf: string, at: number): number {
    nameAt.lastIndex = at;
    return nameAt.test(buf) ? nameAt.lastIndex : -1;
  }

  /**
   * The first position from `at` that is not a space, at most `n`. Never
   * reads past the end: an out-of-bounds charCodeAt makes V8 throw away the
   * optimised code of the functions it is inlined in.
   */
  private skipSpace(buf: string, at: number, n: number): number {
    while (at < n) {
      const c = buf.charCodeAt(at);
      if (c !== 32 && c !== 10 && c !== 9 && c !== 13) break;
      at++;
    }
    return at;
  }

  /** Reads `<name attr="value"...>` or `/>` at `pos`: the position after it, -1 when incomplete. */
  private startTag(buf: string, pos: number, n: number): number {
    const nameEnd = this.nameEnd(buf, pos + 1);
    if (nameEnd < 0) this.fail(pos, "a tag without a name");
    if (nameEnd >= n) return -1;
    const name = buf.slice(pos + 1, nameEnd);
    // Most elements of an answer have no attributes.
    if (buf.charCodeAt(nameEnd) === 62 /* > */) {
      this.begin(name, pos, 0);
      return nameEnd + 1;
    }
    const attributes = this.attributes;
    let count = 0;
    let p = nameEnd;
    for (;;) {
      const spaced = p;
      p = this.skipSpace(buf, p, n);
      if (p >= n) return -1;
      const c = buf.charCodeAt(p);
      if (c === 62 /* > */ || c === 47 /* / */) {
        if (c === 47) {
          if (p + 1 >= n) return -1;
          if (buf.charCodeAt(p + 1) !== 62) this.fail(p, `a / in <${name}>`);
          p++;
        }
        this.begin(name, pos, count);
        if (c === 47) this.end(name, pos);
        return p + 1;
      }
      if (p === spaced) this.fail(p, `no space before an attribute of <${name}>`);
      const attrEnd = this.nameEnd(buf, p);
      if (attrEnd < 0) this.fail(p, `a malformed attribute name in <${name}>`);
      const attrStart = p;
      const attr = buf.slice(p, attrEnd);
      p = this.skipSpace(buf, attrEnd, n);
      if (p >= n) return -1;
      if (buf.charCodeAt(p) !== 61 /* = */) this.fail(p, `the attribute ${attr} has no value`);
      p = this.skipSpace(buf, p + 1, n);
      if (p >= n) return -1;
      const quote = buf.charCodeAt(p);
      if (quote !== 34 && quote !== 39) this.fail(p, `the value of ${attr} is not quoted`);
      const close = buf.indexOf(quote === 34 ? '"' : "'", p + 1);
      if (close < 0) return -1;
      let value = buf.slice(p + 1, close);
      if (value.includes("<")) this.fail(p, `a < in the value of ${attr}`);
      if (this.special || value.includes("\t") || value.includes("\n")) {
        // Line breaks and tabs in a value are spaces; references to them are kept.
        value = value.replace(spaceInValue, " ");
        if (value.includes("&")) value = this.decoded(value, p + 1);
      }
      for (let i = 0; i < count; i += 2) {
        if (attributes[i] === attr) this.fail(attrStart, `the attribute ${attr} is repeated`);
      }
      // Slots are reused from tag to tag: no array per tag, no truncation.
      attributes[count++] = attr;
      attributes[count++] = value;
      p = close + 1;
    }
  }

  /** Opens the element `name` with the first `count` entries of `attributes`. */
  private begin(name: string, pos: number, count: number): void {
    if (this.open.length === 0) {
      if (this.sawRoot) this.fail(pos, "a second root element");
      this.sawRoot = true;
    }
    const { attributes, handler } = this;
    for (let i = 0; i < count; i += 2) {
      handler.attribute(attributes[i]!, attributes[i + 1]!);
    }
    this.open.push(name);
    handler.openTag(name);
  }

  private end(name: string, pos: number): void {
    const inner = this.open.pop();
    if (inner !== name) {
      this.fail(
        pos,
        inner === undefined ? `</${name}> closes nothing` : `</${name}> closes <${inner}>`,
      );
    }
    this.handler.closeTag();
  }

  /** Reads `</name>` at `pos`: the position after it, -1 when incomplete. */
  private endTag(buf: string, pos: number, n: number): number {
    // Nearly always the end of the innermost element, written as it was
    // opened: compared in place, with no name cut out of the text.
    const open = this.open;
    const inner = open[open.length - 1];
    if (inner !== undefined) {
      const end = pos + 2 + inner.length;
      if (end < n) {
        if (buf.charCodeAt(end) === 62 && buf.startsWith(inner, pos + 2)) {
          open.pop();
          this.handler.closeTag();
          return end + 1;
        }
      } else if (buf.indexOf(">", pos) < 0) {
        // Cut by the chunk: wait for the rest (the general path below would
        // run for the first time here, where V8 has no feedback for it).
        return -1;
      }
    }
    const nameEnd = this.nameEnd(buf, pos + 2);
    if (nameEnd < 0) {
      if (pos + 2 >= n) return -1;
      this.fail(pos, "an end tag without a name");
    }
    const p = this.skipSpace(buf, nameEnd, n);
    if (p >= n) return -1;
    if (buf.charCodeAt(p) !== 62) this.fail(p, "an end tag with more than a name");
    this.end(buf.slice(pos + 2, nameEnd), pos);
    return p + 1;
  }

  /** Reads the start of `<!--`, `<![CDATA[` or refuses `<!DOCTYPE`: -1 when incomplete. */
  private declaration(buf: string, pos: number, n: number): number {
    const opens = (what: string) => buf.startsWith(what, pos);
    const couldOpen = (what: string) => n - pos < what.length && what.startsWith(buf.slice(pos));
    if (opens("<!--")) {
      this.section = Section.Comment;
      return pos + 4;
    }
    if (opens("<![CDATA[")) {
      if (this.open.length === 0) this.fail(pos, "CDATA outside the root element");
      this.section = Section.Cdata;
      return pos + 9;
    }
    if (opens("<!DOCTYPE")) {
      this.handler.doctype();
      this.fail(pos, "a DOCTYPE, which is refused");
    }
    if (couldOpen("<!--") || couldOpen("<![CDATA[") || couldOpen("<!DOCTYPE")) return -1;
    return this.fail(pos, "a <! that begins no comment or CDATA");
  }

  /** Reads the start of `<?target`: -1 when incomplete. */
  private instruction(buf: string, pos: number, n: number): number {
    const nameEnd = this.nameEnd(buf, pos + 2);
    if (nameEnd < 0) {
      if (pos + 2 >= n) return -1;
      this.fail(pos, "a processing instruction without a target");
    }
    if (nameEnd >= n) return -1;
    const target = buf.slice(pos + 2, nameEnd);
    if (target.toLowerCase() === "xml" && this.offset + pos !== 0) {
      this.fail(pos, "an XML declaration after the start of the document");
    }
    this.section = Section.Instruction;
    return nameEnd;
  }

  private inSection(): boolean {
    return this.section !== Section.None;
  }

  /**
   * Reads a comment's, CDATA's or instruction's content up to its end, or
   * up to the end of the chunk (then the section goes on).
   */
  private readSection(buf: string, pos: number, n: number): number {
    const section = this.section;
    const close = sectionEnds[section];
    const at = buf.indexOf(close, pos);
    // Keep what could be the start of the end, for the next chunk.
    const end = at < 0 ? Math.max(pos, n - close.length + 1) : at;
    if (section === Section.Comment) {
      const dashes = buf.indexOf("--", pos);
      if (dashes >= 0 && dashes < end) this.fail(dashes, "-- in a comment");
    } else if (section === Section.Cdata && end > pos) {
      const text = buf.slice(pos, end);
      this.handler.text(text.includes("\r") ? text.replace(lineBreak, "\n") : text);
    }
    if (at < 0) return end;
    this.section = Section.None;
    return at + close.length;
  }
}
