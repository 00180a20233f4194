import { createHash } from "node:crypto";

/** Who a token stands for. */
export interface TokenHolder {
  readonly name: string;
  readonly groups: readonly string[];
}

/** A token file's lines: by SHA-256 of the token (lowercase hex). */
export type TokenTable = ReadonlyMap<string, TokenHolder>;

/** The SHA-256 of a token, as lowercase hex: what a token file holds. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A token file's line for a token: `sha256:HEX NAME [GROUP,GROUP...]`. */
export function tokenLine(token: string, name: string, groups: readonly string[]): string {
  return `sha256:${hashToken(token)} ${name}${groups.length ? ` ${groups.join(",")}` : ""}`;
}

const hashPattern = /^sha256:([0-9a-f]{64})$/;
const namePattern = /^[^\s,]{1,253}$/;

/**
 * Parses a token file: one token per line, `sha256:HEX NAME [GROUP,...]`,
 * blank lines and lines starting with `#` ignored. Only hashes are kept, so
 * the file (and a copy of it) never holds a usable token.
 *
 * @throws Error naming the line (by number, never its content) that is wrong.
 */
export function parseTokenFile(text: string): TokenTable {
  const table = new Map<string, TokenHolder>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (!line || line.startsWith("#")) continue;
    const [hashField = "", name = "", groupsField, ...extra] = line.split(/\s+/);
    const where = `line ${i + 1}`;
    const hash = hashPattern.exec(hashField)?.[1];
    if (!hash)
      throw new Error(
        `${where}: must start with sha256: and 64 lowercase hex digits (make one with virtrigaud-manager hash-token)`,
      );
    if (!namePattern.test(name)) throw new Error(`${where}: a user name must follow the hash`);
    if (extra.length) throw new Error(`${where}: groups are one field, separated by commas`);
    const groups = groupsField ? groupsField.split(",").filter(Boolean) : [];
    if (table.has(hash)) throw new Error(`${where}: the same token is on an earlier line`);
    table.set(hash, { name, groups });
  }
  return table;
}
