/**
 * Escapes text for an XML element or a double-quoted attribute: `&`, `<`,
 * `>`, `"` and `'` become entities, and characters XML 1.0 cannot carry at
 * all (most control characters, lone surrogates) are refused.
 *
 * @throws RangeError when `text` holds a character XML 1.0 forbids.
 */
export function escapeXml(text: string): string {
  const forbidden =
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const bad = forbidden.exec(text);
  if (bad) {
    const code = bad[0].codePointAt(0) ?? 0;
    throw new RangeError(`character U+${code.toString(16).padStart(4, "0")} cannot be sent in XML`);
  }
  return text.replace(/[&<>"'\r]/g, (c) => entities[c] ?? c);
}

const entities: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  // A bare CR would be normalised to LF by the server's parser.
  "\r": "&#13;",
};
