import { parseArgs } from "node:util";
import { CopyStoreUsageError, copyStore } from "./copy-store.js";
import { isPostgresUrl } from "./store/postgres/connection.js";
import { StoreInUseError } from "./store/sqlite-backend.js";

const command = "virtrigaud-manager copy-store";

/** The subcommand's help, also printed by the manager's --help. */
export const copyStoreUsage = `Usage: ${command} --from SRC --to DST [flags]

Copies a store into another, empty one: every resource (spec, metadata, status), the store's
resourceVersion and every event. SRC and DST are each a store directory (SQLite) or a
postgres:// URL. The change log is not copied: a watch resuming from before the copy lists again.
Stop the managers first: a SQLite store in use is refused; for PostgreSQL, writes made after the
copy began are not in it.

Copy-store flags:
  --from SRC                    the store to copy: a directory or a postgres:// URL
  --to DST                      the empty store to copy into (a directory is made if missing)
  --from-password-file FILE     the source's PostgreSQL password, the file's first line
  --to-password-file FILE       the target's PostgreSQL password, the file's first line
  -h, --help                    print this help
`;

const flags = {
  from: { type: "string" },
  to: { type: "string" },
  "from-password-file": { type: "string" },
  "to-password-file": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function end(store: string, passwordFile: string | undefined) {
  return { store, ...(passwordFile ? { passwordFile } : {}) };
}

/**
 * Runs `virtrigaud-manager copy-store` with its arguments and returns the
 * exit status: 0 copied, 1 refused or failed, 2 bad usage.
 */
export async function runCopyStore(args: string[]): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof flags }>>["values"];
  try {
    values = parseArgs({ args, options: flags, strict: true, allowPositionals: false }).values;
    if (values.help) {
      process.stdout.write(copyStoreUsage);
      return 0;
    }
    if (!values.from || !values.to) throw new Error("--from and --to are required");
  } catch (err) {
    process.stderr.write(`${command}: ${(err as Error).message}\n\n${copyStoreUsage}`);
    return 2;
  }
  if (isPostgresUrl(values.from))
    process.stderr.write(
      `${command}: copying from PostgreSQL: stop every manager using it first, or what they write meanwhile is not copied\n`,
    );
  try {
    const result = await copyStore({
      from: end(values.from, values["from-password-file"]),
      to: end(values.to, values["to-password-file"]),
    });
    process.stdout.write(
      `copied ${result.resources} resources and ${result.events} events at resourceVersion ` +
        `${result.resourceVersion} from ${result.from} to ${result.to} ` +
        `in ${(result.elapsedMs / 1000).toFixed(1)} s\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof CopyStoreUsageError) {
      process.stderr.write(`${command}: ${err.message}\n`);
      return 2;
    }
    // The stores' errors name them by their redacted URLs; a copy commits whole or not at all.
    const message = err instanceof Error ? err.message : String(err);
    const hint = err instanceof StoreInUseError ? ": stop that manager first" : "";
    process.stderr.write(`${command}: ${message}${hint}; nothing was copied\n`);
    return 1;
  }
}
