import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "@jest/globals";
import { createLogger } from "@virtrigaud/contracts";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { ManagerService } from "@virtrigaud/proto/manager";
import { startManager } from "../src/manager.js";
import { createTestDatabase } from "./postgres.js";
import { runManager } from "./processes.js";

// The store's password may come in its URL or from a file; it must show
// nowhere: not in the log, /readyz, GetStatus, or an error at start.
const secret = "s3cret-Pw-7731";
const dir = mkdtempSync(join(tmpdir(), "store-password-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the store's password", () => {
  it("never reaches the log, /readyz or GetStatus of a manager on PostgreSQL", async () => {
    const db = await createTestDatabase();
    let logged = "";
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    const passwordFile = join(dir, "password");
    writeFileSync(passwordFile, `${secret}\n`);
    // The test bed trusts loopback, so the password is accepted whatever it is.
    const url = db.url.replace("postgres://postgres@", `postgres://postgres:${secret}@`);
    const manager = await startManager({
      postgres: { url, passwordFile },
      replicaId: "pw-test",
      logger: createLogger({ name: "test", level: "debug", destination }),
      serve: { listen: "127.0.0.1:0", opsListen: "127.0.0.1:0", insecure: true },
    });
    try {
      const client = createServiceClient(ManagerService, manager.server?.url ?? "");
      const status = await client.getStatus({});
      expect(status.storeType).toBe("postgres");
      expect(status.storeLocation).toContain("redacted");
      expect(JSON.stringify(status)).not.toContain(secret);
      const readyz = await (await fetch(`${manager.server?.opsUrl ?? ""}/readyz`)).text();
      expect(readyz).not.toContain(secret);
    } finally {
      await manager.close();
      await db.drop();
    }
    expect(logged).toContain("store opened");
    expect(logged).not.toContain(secret);
  });

  it("never reaches the error of a manager that cannot reach its store", async () => {
    const result = await runManager([
      "--insecure",
      "--listen",
      "127.0.0.1:0",
      "--ops-listen",
      "127.0.0.1:0",
      "--store",
      `postgres://postgres:${secret}@127.0.0.1:1/nowhere`,
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(
      "postgres://postgres:redacted@127.0.0.1:1/nowhere",
    );
    expect(result.stdout + result.stderr).not.toContain(secret);
  });
});
