import { parseArgs } from "node:util";
import { isPostgresUrl } from "../store/postgres/connection.js";
import { openStore } from "../store/resource-store.js";
import { StoreInUseError } from "../store/sqlite-backend.js";
import { KeyFileError, addKeyToFile, readKeyring } from "./keyring.js";
import { rotateSecrets } from "./rotate-secrets.js";
import { createSecretAccess } from "./secret-access.js";

const manager = "virtrigaud-manager";

/** The help of `secret-key` and `rotate-secrets`, also printed by the manager's --help. */
export const secretsUsage = `Usage: ${manager} secret-key generate FILE
       ${manager} rotate-secrets (--data DIR | --store URL [--store-password-file FILE]) --secret-key-file FILE

secret-key generate FILE puts a new random 256-bit key first in the key file FILE (made with mode
0600 when missing; the keys already there are kept after it). Managers started with
--secret-key-file FILE seal Secrets with the first key and open them with any.

rotate-secrets seals every Secret of the store not under the key file's first key anew under it;
then the older keys can leave the file. The embedded store (--data) must not be in use: stop its
manager first. On PostgreSQL the managers may run, once each has read the key file with the new
key (restart them after secret-key generate, before rotating).

Rotate-secrets flags:
  --data DIR                    the embedded store's directory
  --store URL                   a store on PostgreSQL (postgres://...)
  --store-password-file FILE    the PostgreSQL password, the file's first line
  --secret-key-file FILE        the key file, the new key first
  -h, --help                    print this help
`;

function fail(command: string, message: string, status: number): number {
  process.stderr.write(`${manager} ${command}: ${message}\n`);
  return status;
}

/**
 * Runs `virtrigaud-manager secret-key ...` and returns the exit status: 0
 * done, 1 failed, 2 bad usage.
 */
export function runSecretKey(args: string[]): number {
  if (args[0] === "-h" || args[0] === "--help") {
    process.stdout.write(secretsUsage);
    return 0;
  }
  const [verb, file, ...rest] = args;
  if (verb !== "generate" || !file || rest.length)
    return fail("secret-key", `expected: generate FILE\n\n${secretsUsage}`, 2);
  try {
    const name = addKeyToFile(file);
    process.stdout.write(
      `added the key ${name} first in ${file}: restart the managers to seal with it, then run rotate-secrets\n`,
    );
    return 0;
  } catch (err) {
    return fail("secret-key", (err as Error).message, 1);
  }
}

const rotateFlags = {
  data: { type: "string" },
  store: { type: "string" },
  "store-password-file": { type: "string" },
  "secret-key-file": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Runs `virtrigaud-manager rotate-secrets ...` and returns the exit status:
 * 0 every Secret is under the first key, 1 some did not open or the store
 * failed, 2 bad usage.
 */
export async function runRotateSecrets(args: string[]): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof rotateFlags }>>["values"];
  try {
    values = parseArgs({
      args,
      options: rotateFlags,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return fail("rotate-secrets", `${(err as Error).message}\n\n${secretsUsage}`, 2);
  }
  if (values.help) {
    process.stdout.write(secretsUsage);
    return 0;
  }
  const keyFile = values["secret-key-file"] ?? process.env["VIRTRIGAUD_SECRET_KEY_FILE"];
  if (!keyFile) return fail("rotate-secrets", "--secret-key-file is required", 2);
  if (!values.data === !values.store)
    return fail("rotate-secrets", "give one store: --data DIR or --store URL", 2);
  if (values.store && !isPostgresUrl(values.store))
    return fail("rotate-secrets", "--store must be a postgres:// or postgresql:// URL", 2);
  let keyring;
  try {
    keyring = readKeyring(keyFile);
  } catch (err) {
    if (err instanceof KeyFileError) return fail("rotate-secrets", err.message, 2);
    throw err;
  }
  const passwordFile = values["store-password-file"];
  let store;
  try {
    store = await openStore(
      values.store
        ? { postgres: { url: values.store, ...(passwordFile ? { passwordFile } : {}) } }
        : { dataDir: values.data as string },
    );
  } catch (err) {
    const hint = err instanceof StoreInUseError ? ": stop that manager first" : "";
    return fail("rotate-secrets", `${(err as Error).message}${hint}`, 1);
  }
  try {
    const result = await rotateSecrets(store, createSecretAccess(keyring));
    const first = keyring.keys[0]?.name ?? "";
    process.stdout.write(
      `re-encrypted ${result.resealed} Secrets under the key ${first}; ${result.current} already were\n`,
    );
    for (const f of result.failed) process.stderr.write(`${f.secret}: ${f.error}\n`);
    if (result.failed.length)
      return fail(
        "rotate-secrets",
        `${result.failed.length} Secrets did not open: keep the keys they need in ${keyFile}`,
        1,
      );
    process.stdout.write(
      `every Secret is under ${first}: the other keys can leave ${keyFile} (restart the managers after)\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
