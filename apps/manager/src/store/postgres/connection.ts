import { readFileSync } from "node:fs";
import type pg from "pg";

/** Where a PostgreSQL store is and how to log in to it. */
export interface PostgresLocation {
  /** A postgres:// or postgresql:// URL; a password in it works, but prefer `passwordFile`. */
  url: string;
  /** A file holding the password (its first line), read at start. */
  passwordFile?: string;
}

/** Whether a `--store` value names a PostgreSQL database. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** The URL without its password, for logs, errors and /readyz. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "redacted";
    for (const key of [...parsed.searchParams.keys()])
      if (/pass|secret|key/i.test(key)) parsed.searchParams.set(key, "redacted");
    return parsed.toString();
  } catch {
    return "postgres://(a URL that does not parse)";
  }
}

/**
 * node-postgres settings for a location: the password from the file when one
 * is given (never from the environment's PGPASSWORD by surprise: pg reads it
 * only when neither gives one).
 *
 * @throws Error naming the file when it cannot be read; never the password.
 */
export function clientConfig(location: PostgresLocation): pg.ClientConfig {
  const config: pg.ClientConfig = { connectionString: location.url };
  if (location.passwordFile) {
    let text: string;
    try {
      text = readFileSync(location.passwordFile, "utf8");
    } catch (err) {
      throw new Error(
        `cannot read the store's password file ${location.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        { cause: err },
      );
    }
    config.password = text.split(/\r?\n/)[0] ?? "";
  }
  return config;
}
