import { type DomainInfo, parseDomainXml, parseDomainXmls } from "../xml/parse-domain.js";

/**
 * What the last listings read from the domains' XML, by document, so that a
 * listing parses only the definitions that changed. Safe because reading is
 * a pure function of the document: an entry is used only for the very same
 * text. The values are shared: nothing may change them.
 */
export interface DefinitionCache {
  /**
   * The definitions in `stream`, documents one after the other as virsh
   * prints them, each ending with `</domain>` and a line break. Each
   * document is cut out and read on its own (or taken from the cache); a
   * comment or CDATA section in a domain's metadata could hold that ending,
   * but a document cut there is not well-formed, and then the stream is
   * read whole as one document instead, without the cache.
   *
   * @throws Error when the stream is not well-formed XML.
   */
  read(stream: string): DomainInfo[];
  /**
   * Drops the documents of domains a listing of `prefix` would have seen but
   * did not (gone or changed since), so the cache holds no more than the
   * host's domains.
   */
  forgetMissing(prefix: string, seen: ReadonlySet<DomainInfo>): void;
}

const ending = "</domain>\n";

/** Creates an empty cache. */
export function createDefinitionCache(): DefinitionCache {
  const entries = new Map<string, DomainInfo>();
  const readOne = (xml: string): DomainInfo => {
    const cached = entries.get(xml);
    if (cached) return cached;
    const info = parseDomainXml(xml);
    entries.set(xml, info);
    return info;
  };
  return {
    read(stream) {
      const pieces = stream.split(ending);
      const rest = pieces.pop() ?? "";
      try {
        if (rest.trim()) throw new Error("text after the last definition");
        return pieces.map((piece) => readOne(piece + ending));
      } catch {
        return parseDomainXmls(stream);
      }
    },
    forgetMissing(prefix, seen) {
      for (const [xml, info] of entries) {
        if (info.name.startsWith(prefix) && !seen.has(info)) entries.delete(xml);
      }
    },
  };
}
