import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { apiVersion } from "../manifest/kinds.js";

/** One key of the key file: 32 bytes for AES-256-GCM, and the name stored beside what it seals. */
interface SecretKey {
  name: string;
  key: Buffer;
}

/**
 * The keys Secrets are sealed with, as a key file lists them: the first
 * seals every write, every one opens what it sealed (Kubernetes'
 * EncryptionConfiguration works the same way).
 */
export interface Keyring {
  /** The file it was read from, for messages. */
  file: string;
  /** At least one; names unique. */
  keys: readonly SecretKey[];
}

/** The kind of a key file's document. */
const keyFileKind = "SecretKeys";

const keyName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A key file that cannot be used. The message names the file and the problem, never a key. */
export class KeyFileError extends Error {
  override readonly name = "KeyFileError";
}

/**
 * Reads a key file: YAML (or JSON) of the form
 * `{apiVersion, kind: SecretKeys, keys: [{name, secret: <base64 of 32 bytes>}]}`.
 *
 * @throws KeyFileError when the file is missing, does not parse, has no key,
 * a key of another length, or a name twice.
 */
export function readKeyring(file: string): Keyring {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new KeyFileError(
      `the secret key file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
  return parseKeyring(text, file);
}

/** See `readKeyring`. */
export function parseKeyring(text: string, file: string): Keyring {
  const bad = (why: string) => new KeyFileError(`the secret key file ${file} ${why}`);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    // The parser's message may quote the file: keys stay out of it.
    throw bad("is not YAML");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw bad("is not a mapping");
  const { kind, keys } = doc as { kind?: unknown; keys?: unknown };
  if (kind !== keyFileKind) throw bad(`must have kind: ${keyFileKind}`);
  if (!Array.isArray(keys) || keys.length === 0) throw bad("lists no keys");
  const seen = new Set<string>();
  const out = keys.map((entry: unknown, i): SecretKey => {
    const { name, secret } = (entry ?? {}) as { name?: unknown; secret?: unknown };
    if (typeof name !== "string" || !keyName.test(name))
      throw bad(`keys[${i}].name must be lowercase letters, digits and '-' (at most 63)`);
    if (seen.has(name)) throw bad(`names the key ${name} twice`);
    seen.add(name);
    const key = typeof secret === "string" ? Buffer.from(secret, "base64") : Buffer.alloc(0);
    if (key.length !== 32) throw bad(`keys[${i}] (${name}): secret must be 32 bytes in base64`);
    return { name, key };
  });
  return { file, keys: out };
}

/** Whether anyone but the file's owner may read it. */
export function readableByOthers(file: string): boolean {
  return (statSync(file).mode & 0o077) !== 0;
}

/**
 * Puts a new random key first in the key file (made, mode 0600, when
 * missing): from now on it seals, and the keys after it still open what they
 * sealed. Returns the new key's name. Written to a temporary file and renamed,
 * so a crash leaves the old file or the new one.
 *
 * @throws KeyFileError when an existing file is not a key file.
 */
export function addKeyToFile(file: string, now: Date = new Date()): string {
  const existing = existsSync(file) ? readKeyring(file).keys : [];
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  let name = `key-${stamp}`.toLowerCase();
  for (let i = 2; existing.some((k) => k.name === name); i++) name = `key-${stamp}-${i}`;
  const keys = [{ name, key: randomBytes(32) }, ...existing];
  const text =
    "# virtrigaud-manager's secret keys: the first seals, every one opens.\n" +
    "# Keep this file apart from the store's backups: either alone reads nothing.\n" +
    stringify({
      apiVersion,
      kind: keyFileKind,
      keys: keys.map((k) => ({ name: k.name, secret: k.key.toString("base64") })),
    });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600, flag: "wx" });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
  return name;
}
