import { execFile } from "node:child_process";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, it } from "@jest/globals";
import { TempDirs } from "@virtrigaud/testbed";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import { Kind, SecretSchema } from "@virtrigaud/proto/manager";
import { parse, stringify } from "yaml";
import { type TestDatabase, createTestDatabase } from "./postgres.js";
import { type ServerProcess, eventually, runManager, spawnManager, vrtg } from "./processes.js";
import { spawnReplica } from "./replicas.js";

// Secrets at rest, against the built manager: what its store files hold,
// what a changed or moved ciphertext does, key rotation, and copies.

const run = promisify(execFile);
/** The value no store file, dump or output may hold. */
const password = "s3cret-Value-7f1c2e9a";
const forbidden = [password, Buffer.from(password).toString("base64")];

const temp = new TempDirs("vrtg-secrets-");
const managers: ServerProcess[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});
afterAll(async () => {
  temp.removeAll();
  await Promise.all(databases.map((d) => d.drop()));
});

function secretManifest(name: string): string {
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: Secret
metadata:
  name: ${name}
type: Opaque
stringData:
  password: ${password}
data:
  user: ${Buffer.from("admin").toString("base64")}
`;
}

async function manager(dataDir: string, keyFile?: string): Promise<ServerProcess> {
  const m = await spawnManager(dataDir, keyFile ? ["--secret-key-file", keyFile] : []);
  managers.push(m);
  return m;
}

/** Which forbidden strings occur in the files of a directory (binary, as stored). */
function leaks(dir: string): string[] {
  const found: string[] = [];
  for (const file of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, file));
    for (const text of forbidden)
      if (bytes.includes(text)) found.push(`${file}: ${text === password ? "value" : "base64"}`);
  }
  return found;
}

/** The first log line of the manager matching `pattern`, as JSON text (waits a little for it). */
async function logLine(m: ServerProcess, pattern: RegExp): Promise<string> {
  return eventually(
    () => m.logs.map((l) => JSON.stringify(l)).find((l) => pattern.test(l)),
    5000,
    `a log line matching ${pattern}`,
  );
}

/** The password as `vrtg get secret NAME -o json` shows it. */
async function passwordOf(server: string, name: string): Promise<string> {
  const got = await vrtg(server, ["get", "secret", name, "-o", "json"]);
  if (got.code !== 0) throw new Error(`vrtg get failed: ${got.stderr}`);
  const doc = JSON.parse(got.stdout) as { data?: Record<string, string> };
  return Buffer.from(doc.data?.["password"] ?? "", "base64").toString();
}

/** Rewrites a stored Secret's row of a stopped manager's SQLite store. */
function editStoredSecret(
  dataDir: string,
  name: string,
  edit: (secret: ReturnType<typeof fromBinary<typeof SecretSchema>>) => void,
): void {
  const db = new Database(join(dataDir, "manager.db"));
  try {
    const row = db
      .prepare("SELECT data FROM resources WHERE kind = ? AND namespace = 'default' AND name = ?")
      .get(Kind.SECRET, name) as { data: Uint8Array };
    const secret = fromBinary(SecretSchema, row.data);
    edit(secret);
    db.prepare(
      "UPDATE resources SET data = ? WHERE kind = ? AND namespace = 'default' AND name = ?",
    ).run(toBinary(SecretSchema, secret), Kind.SECRET, name);
  } finally {
    db.close();
  }
}

describe("Secrets at rest", () => {
  it("are applied, read, listed and deleted through vrtg, and no store file holds their values", async () => {
    const dir = temp.make();
    const keyFile = join(dir, "keys.yaml");
    const generated = await runManager(["secret-key", "generate", keyFile]);
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^added the key key-\d{8}-\d{6} first in /);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const data = join(dir, "data");
    const m = await manager(data, keyFile);

    const applied = await vrtg(m.url, ["apply", "-f", "-"], secretManifest("db"));
    expect(applied.stdout).toBe("secret/db created\n");
    expect((await vrtg(m.url, ["apply", "-f", "-"], secretManifest("db"))).stdout).toBe(
      "secret/db unchanged\n",
    );
    expect(await passwordOf(m.url, "db")).toBe(password);
    const table = await vrtg(m.url, ["get", "secrets"]);
    expect(table.stdout).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\ndb\s+Opaque\s+2\s+\S+\n$/);
    const yaml = parse((await vrtg(m.url, ["get", "secret", "db", "-o", "yaml"])).stdout) as {
      kind: string;
      data: Record<string, string>;
      encryptedData?: unknown;
    };
    expect(yaml.kind).toBe("Secret");
    expect(Object.keys(yaml.data).sort()).toEqual(["password", "user"]);
    expect(yaml.encryptedData).toBeUndefined();

    expect(leaks(data)).toEqual([]);
    // The write-ahead log is where a fresh write lands first.
    expect(readdirSync(data)).toContain("manager.db-wal");

    const deleted = await vrtg(m.url, ["delete", "secret", "db"]);
    expect(deleted.code).toBe(0);
    expect((await vrtg(m.url, ["get", "secret", "db"])).code).not.toBe(0);
    await m.stop();
    // The change log keeps a deleted resource as it was: sealed too.
    expect(leaks(data)).toEqual([]);
  });

  it("refuses to start with a key file it cannot use, naming the file and never a key", async () => {
    const dir = temp.make();
    const short = join(dir, "short.yaml");
    const key = Buffer.alloc(16, 9).toString("base64");
    writeFileSync(short, `kind: SecretKeys\nkeys:\n  - name: k\n    secret: ${key}\n`, {
      mode: 0o600,
    });
    for (const [file, message] of [
      [
        join(dir, "missing.yaml"),
        `the secret key file ${join(dir, "missing.yaml")} cannot be read: ENOENT`,
      ],
      [short, `the secret key file ${short} keys[0] (k): secret must be 32 bytes in base64`],
    ] as const) {
      const started = await runManager([
        "--insecure",
        "--listen",
        "127.0.0.1:0",
        "--data",
        join(dir, "data"),
        "--secret-key-file",
        file,
      ]);
      expect(started.code).toBe(2);
      expect(started.stderr).toBe(`virtrigaud-manager: ${message}\n`);
      expect(started.stderr).not.toContain(key);
    }
  });

  it("refuses to open a ciphertext changed in the store, or moved to another Secret", async () => {
    const dir = temp.make();
    const keyFile = join(dir, "keys.yaml");
    expect((await runManager(["secret-key", "generate", keyFile])).code).toBe(0);
    const data = join(dir, "data");
    let m = await manager(data, keyFile);
    await vrtg(
      m.url,
      ["apply", "-f", "-"],
      `${secretManifest("a")}---\n${secretManifest("b")}---\n${secretManifest("c")}`,
    );
    await m.stop();

    editStoredSecret(data, "a", (s) => {
      const c = s.encryptedData?.ciphertext;
      if (c) c[0] = (c[0] ?? 0) ^ 0x80;
    });
    let moved: Uint8Array = new Uint8Array();
    editStoredSecret(data, "c", (s) => {
      moved = toBinary(SecretSchema, s);
    });
    editStoredSecret(data, "b", (s) => {
      s.encryptedData = fromBinary(SecretSchema, moved).encryptedData;
    });

    m = await manager(data, keyFile);
    const changed = await vrtg(m.url, ["get", "secret", "a", "-o", "yaml"]);
    const movedGet = await vrtg(m.url, ["get", "secret", "b", "-o", "yaml"]);
    // INTERNAL: the caller cannot fix it; the manager's log says what is wrong, by request id.
    for (const out of [changed, movedGet]) {
      expect(out.code).not.toBe(0);
      expect(out.stderr).toMatch(
        /internal error; the manager's log has the details under request id/,
      );
    }
    expect(await passwordOf(m.url, "c")).toBe(password);
    const logged = await logLine(m, /Secret default\/a cannot be decrypted/);
    expect(logged).toMatch(
      /Secret default\/a cannot be decrypted: its ciphertext does not authenticate under key key-\S+ \(changed in the store, or sealed for another Secret\)/,
    );
    expect(await logLine(m, /Secret default\/b cannot be decrypted/)).toMatch(
      /does not authenticate/,
    );
    const logs = JSON.stringify(m.logs);
    for (const text of forbidden) expect(logs).not.toContain(text);
  });

  it("re-encrypts every Secret under a new key, after which the old key can go", async () => {
    const dir = temp.make();
    const keyFile = join(dir, "keys.yaml");
    await runManager(["secret-key", "generate", keyFile]);
    const oldKey = (parse(readFileSync(keyFile, "utf8")) as { keys: Array<{ name: string }> })
      .keys[0]?.name;
    const data = join(dir, "data");
    let m = await manager(data, keyFile);
    await vrtg(m.url, ["apply", "-f", "-"], `${secretManifest("a")}---\n${secretManifest("b")}`);
    await m.stop();

    await runManager(["secret-key", "generate", keyFile]);
    const ring = parse(readFileSync(keyFile, "utf8")) as { keys: Array<{ name: string }> };
    expect(ring.keys).toHaveLength(2);
    expect(ring.keys[1]?.name).toBe(oldKey);
    const newKey = ring.keys[0]?.name ?? "";

    // Refused while a manager has the store open.
    m = await manager(data, keyFile);
    const busy = await runManager(["rotate-secrets", "--data", data, "--secret-key-file", keyFile]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/stop that manager first/);
    await m.stop();

    const rotated = await runManager([
      "rotate-secrets",
      "--data",
      data,
      "--secret-key-file",
      keyFile,
    ]);
    expect(rotated.stdout).toBe(
      `re-encrypted 2 Secrets under the key ${newKey}; 0 already were\nevery Secret is under ${newKey}: the other keys can leave ${keyFile} (restart the managers after)\n`,
    );
    expect(rotated.code).toBe(0);
    const again = await runManager([
      "rotate-secrets",
      "--data",
      data,
      "--secret-key-file",
      keyFile,
    ]);
    expect(again.stdout).toMatch(/^re-encrypted 0 Secrets under the key \S+; 2 already were\n/);

    // The old key leaves the file; the Secrets still open.
    const doc = parse(readFileSync(keyFile, "utf8")) as { keys: unknown[] };
    writeFileSync(keyFile, stringify({ ...doc, keys: doc.keys.slice(0, 1) }), { mode: 0o600 });
    m = await manager(data, keyFile);
    expect(await passwordOf(m.url, "a")).toBe(password);
    expect(await passwordOf(m.url, "b")).toBe(password);
    expect(leaks(data)).toEqual([]);
  });

  it("copies keep the ciphertext: unreadable without the key file, readable with it, on SQLite and PostgreSQL", async () => {
    const dir = temp.make();
    const keyFile = join(dir, "keys.yaml");
    await runManager(["secret-key", "generate", keyFile]);
    const data = join(dir, "data");
    let m = await manager(data, keyFile);
    await vrtg(m.url, ["apply", "-f", "-"], secretManifest("db"));
    await m.stop();

    const copy = join(dir, "copy");
    expect((await runManager(["copy-store", "--from", data, "--to", copy])).code).toBe(0);
    expect(leaks(copy)).toEqual([]);
    m = await manager(copy);
    const keyless = await vrtg(m.url, ["get", "secret", "db", "-o", "yaml"]);
    expect(keyless.code).not.toBe(0);
    expect(await logLine(m, /Secret default\/db cannot be decrypted/)).toMatch(
      /Secret default\/db cannot be decrypted: the manager has no --secret-key-file/,
    );
    await m.stop();
    m = await manager(copy, keyFile);
    expect(await passwordOf(m.url, "db")).toBe(password);
    await m.stop();

    // Into PostgreSQL, then a Secret written there by a manager: the dump holds neither value.
    const db = await createTestDatabase();
    databases.push(db);
    expect((await runManager(["copy-store", "--from", data, "--to", db.url])).code).toBe(0);
    const pgManager = await spawnReplica(db.url, "secrets-1", ["--secret-key-file", keyFile]);
    managers.push(pgManager);
    expect(await passwordOf(pgManager.url, "db")).toBe(password);
    await vrtg(pgManager.url, ["apply", "-f", "-"], secretManifest("fresh"));
    expect(await passwordOf(pgManager.url, "fresh")).toBe(password);
    const dump = await run("pg_dump", ["--data-only", db.url], { maxBuffer: 64 * 2 ** 20 });
    expect(dump.stdout).toMatch(/COPY \S*resources /);
    // pg_dump writes bytea as hex: look for that form too.
    for (const text of [...forbidden, Buffer.from(password).toString("hex")])
      expect(dump.stdout.includes(text)).toBe(false);

    // Rotation on PostgreSQL while a manager serves, once it has read the new key file.
    const rotatedFile = join(dir, "rotated.yaml");
    writeFileSync(rotatedFile, readFileSync(keyFile), { mode: 0o600 });
    await runManager(["secret-key", "generate", rotatedFile]);
    await pgManager.stop();
    const restarted = await spawnReplica(db.url, "secrets-2", ["--secret-key-file", rotatedFile]);
    managers.push(restarted);
    const rotated = await runManager([
      "rotate-secrets",
      "--store",
      db.url,
      "--secret-key-file",
      rotatedFile,
    ]);
    expect(rotated.stdout).toMatch(/^re-encrypted 2 Secrets under the key \S+; 0 already were\n/);
    expect(await passwordOf(restarted.url, "db")).toBe(password);
    expect(await passwordOf(restarted.url, "fresh")).toBe(password);
  });
});
