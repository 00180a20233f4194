import { createHmac, timingSafeEqual } from "node:crypto";

/** One host key line of a known_hosts file. */
export interface KnownHost {
  /** Host patterns, or the salt and hash of a hashed entry. */
  hosts: { kind: "plain"; patterns: string[] } | { kind: "hashed"; salt: Buffer; hash: Buffer };
  /** The key type, for example ssh-ed25519. */
  keyType: string;
  /** The key in SSH wire format (the base64 field decoded). */
  key: Buffer;
  revoked: boolean;
}

/**
 * Parses a known_hosts file (OpenSSH format): plain and hashed (`|1|salt|hash`)
 * host fields, comma-separated patterns with `*` and `?`, negated patterns,
 * and the `@revoked` marker. `@cert-authority` lines are skipped: host
 * certificates are not supported.
 */
export function parseKnownHosts(text: string): KnownHost[] {
  const entries: KnownHost[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith("@")) {
      const marker = fields.shift();
      if (marker === "@cert-authority") continue;
      revoked = marker === "@revoked";
    }
    const [hostField, keyType, keyBase64] = fields;
    if (!hostField || !keyType || !keyBase64) continue;
    const key = Buffer.from(keyBase64, "base64");
    if (hostField.startsWith("|1|")) {
      const [, , salt, hash] = hostField.split("|");
      if (!salt || !hash) continue;
      entries.push({
        hosts: {
          kind: "hashed",
          salt: Buffer.from(salt, "base64"),
          hash: Buffer.from(hash, "base64"),
        },
        keyType,
        key,
        revoked,
      });
    } else {
      entries.push({
        hosts: { kind: "plain", patterns: hostField.split(",") },
        keyType,
        key,
        revoked,
      });
    }
  }
  return entries;
}

/** How known_hosts names a host: `host` on port 22, `[host]:port` otherwise. */
function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

function matchesHost(entry: KnownHost, name: string): boolean {
  if (entry.hosts.kind === "hashed") {
    const digest = createHmac("sha1", entry.hosts.salt).update(name).digest();
    return digest.length === entry.hosts.hash.length && timingSafeEqual(digest, entry.hosts.hash);
  }
  let matched = false;
  for (const pattern of entry.hosts.patterns) {
    if (pattern.startsWith("!")) {
      if (globToRegExp(pattern.slice(1)).test(name)) return false;
    } else if (globToRegExp(pattern).test(name)) {
      matched = true;
    }
  }
  return matched;
}

/** What known_hosts says of a key a host presented. */
export type HostKeyVerdict = "trusted" | "mismatch" | "unknown-host" | "revoked";

/**
 * Checks the key a host presented against known_hosts entries, as OpenSSH
 * does with StrictHostKeyChecking: trusted only when an entry for the host
 * holds exactly this key and no `@revoked` line names the key.
 */
export function verifyHostKey(
  entries: readonly KnownHost[],
  host: string,
  port: number,
  presented: Buffer,
): HostKeyVerdict {
  const name = knownHostName(host, port);
  if (entries.some((e) => e.revoked && e.key.equals(presented))) return "revoked";
  const forHost = entries.filter((e) => !e.revoked && matchesHost(e, name));
  if (!forHost.length) return "unknown-host";
  return forHost.some((e) => e.key.equals(presented)) ? "trusted" : "mismatch";
}
