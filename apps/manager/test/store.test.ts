import { execFileSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { Kind, ManagerService } from "@virtrigaud/proto/manager";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { type ServerProcess, runManager, spawnManager } from "./processes.js";

const vmClass = (name: string, annotations: Record<string, string> = {}) =>
  decodeManifest({
    apiVersion: "infra.virtrigaud.io/v1beta1",
    kind: "VMClass",
    metadata: { name, annotations },
    spec: { cpu: 1, memory: "1Gi" },
  });

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    if (ProviderError.is(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

/** Writes zeros into `file` until the disk it is on is full. */
function fillDisk(file: string): void {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
}

const listen = ["--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0"];

describe("the manager's store", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-store-"));
  const started: ServerProcess[] = [];
  afterAll(async () => {
    for (const p of started) await p.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (data: string) => {
    const manager = await spawnManager(data);
    started.push(manager);
    return { manager, client: createServiceClient(ManagerService, manager.url) };
  };

  it("serves one manager at a time: a second on the same --data is refused, naming the first", async () => {
    const data = join(dir, "shared");
    const { manager, client } = await start(data);
    await client.apply({ resource: vmClass("small") });
    const second = await runManager(["--insecure", "--data", data, ...listen]);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `virtrigaud-manager: ${data} is in use by another virtrigaud-manager (pid ${manager.child.pid}): one store directory serves one manager at a time\n`,
    );
    // The first goes on as before.
    await client.apply({ resource: vmClass("large") });
    const { resources } = await client.list({ kind: Kind.VM_CLASS });
    expect(resources).toHaveLength(2);
    client.close();
    await manager.stop();
  }, 30_000);

  it("is not kept locked by a manager killed with SIGKILL, and keeps what it stored", async () => {
    const data = join(dir, "killed");
    const first = await start(data);
    await first.client.apply({ resource: vmClass("small") });
    first.client.close();
    await first.manager.stop("SIGKILL");
    const again = await start(data);
    const { resources } = await again.client.list({ kind: Kind.VM_CLASS });
    expect(resources).toHaveLength(1);
    again.client.close();
    await again.manager.stop();
  }, 30_000);

  it("is readable by the manager's user only: its directory 0700, its files 0600", async () => {
    const data = join(dir, "private");
    const { manager, client } = await start(data);
    await client.apply({ resource: vmClass("small") });
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    expect(mode(data)).toBe("700");
    expect(mode(join(data, "manager.db"))).toBe("600");
    expect(mode(join(data, "manager.db-wal"))).toBe("600");
    client.close();
    await manager.stop();
    // A store made before (world-readable) is narrowed when it is opened.
    chmodSync(join(data, "manager.db"), 0o644);
    const again = await start(data);
    expect(mode(join(data, "manager.db"))).toBe("600");
    again.client.close();
    await again.manager.stop();
  }, 30_000);

  it("refuses plaintext on anything but a loopback address, before the store is made", async () => {
    const data = join(dir, "open-door");
    for (const address of [":0", "0.0.0.0:0", "[::]:0"]) {
      const result = await runManager(["--insecure", "--data", data, "--listen", address]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /refusing plaintext on .*: without TLS anyone who reaches it may call every method/,
      );
    }
    expect(existsSync(data)).toBe(false);
  }, 30_000);

  it("is not made when the manager refuses its configuration", async () => {
    const data = join(dir, "never");
    const plaintext = await runManager(["--data", data, ...listen]);
    expect(plaintext.code).toBe(2);
    expect(plaintext.stderr).toMatch(/refusing to serve without TLS/);
    const badTls = await runManager([
      "--data",
      data,
      "--tls-cert",
      join(dir, "missing-cert.pem"),
      "--tls-key",
      join(dir, "missing-key.pem"),
      ...listen,
    ]);
    expect(badTls.code).toBe(2);
    expect(badTls.stderr).toMatch(/the TLS files do not load: .*missing-cert\.pem/);
    expect(existsSync(data)).toBe(false);
  }, 30_000);

  it("answers a full disk with RESOURCE_EXHAUSTED naming the store, serves reads, and writes again once there is room", async () => {
    const mnt = join(dir, "small-disk");
    mkdirSync(mnt);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt]);
    try {
      const data = join(mnt, "data");
      const { manager, client } = await start(data);
      await client.apply({ resource: vmClass("small") });
      fillDisk(join(mnt, "filler"));
      const blob = { "example.com/blob": "x".repeat(100_000) };
      const error = await rejection(client.apply({ resource: vmClass("large", blob) }));
      expect(error.reason).toBe(ErrorReason.RESOURCE_EXHAUSTED);
      expect(error.rawMessage).toBe(
        `the manager's store at ${data} is full: free space on its disk; nothing was stored`,
      );
      // Reads are served from memory, and nothing half-written shows.
      expect((await client.get({ kind: Kind.VM_CLASS, name: "small" })).resource).toBeDefined();
      const { resources } = await client.list({ kind: Kind.VM_CLASS });
      expect(resources).toHaveLength(1);
      rmSync(join(mnt, "filler"));
      await client.apply({ resource: vmClass("large", blob) });
      expect((await client.list({ kind: Kind.VM_CLASS })).resources).toHaveLength(2);
      client.close();
      await manager.stop();
    } finally {
      execFileSync("umount", ["-l", mnt]);
    }
  }, 60_000);
});
