/** The namespaces of XML documents the SDK reads. */
export const namespaces = {
  soapEnvelope: "http://schemas.xmlsoap.org/soap/envelope/",
  xsi: "http://www.w3.org/2001/XMLSchema-instance",
  vim25: "urn:vim25",
} as const;

/**
 * The namespace declarations in scope while a document is read element by
 * element: an element's declarations are `declare`d when it opens and
 * dropped when it closes (`close` with its depth). Only elements that declare
 * something cost anything.
 */
export class NamespaceScope {
  private readonly prefixes: string[] = [];
  private readonly uris: string[] = [];
  private readonly depths: number[] = [];

  /** Records `xmlns:prefix="uri"` (prefix "" for `xmlns`) of an element at `depth`. */
  declare(prefix: string, uri: string, depth: number): void {
    this.prefixes.push(prefix);
    this.uris.push(uri);
    this.depths.push(depth);
  }

  /** Drops the declarations of the element at `depth`, which closed. */
  close(depth: number): void {
    while (this.depths.length > 0 && this.depths[this.depths.length - 1]! >= depth) {
      this.prefixes.pop();
      this.uris.pop();
      this.depths.pop();
    }
  }

  /** The namespace `prefix` stands for ("" for no namespace), or undefined when undeclared. */
  resolve(prefix: string): string | undefined {
    for (let i = this.prefixes.length - 1; i >= 0; i--) {
      if (this.prefixes[i] === prefix) return this.uris[i];
    }
    if (prefix === "xml") return "http://www.w3.org/XML/1998/namespace";
    return prefix === "" ? "" : undefined;
  }
}
