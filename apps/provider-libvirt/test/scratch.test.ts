// The provider's scratch directory on the host: documents are private while
// they exist and gone after use, the directory goes with a clean stop, and a
// provider starting removes the directories of killed providers, never those
// of live ones.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { createProviderClient } from "@virtrigaud/contracts/client";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import type { HostTransport } from "../src/host/host-transport.js";
import { removeDomains, testbed } from "./testbed.js";
import { done, startProviderBinary, useProvider } from "./use-provider.js";

const run = promisify(execFile);
const uid = process.getuid?.() ?? 0;
const secret = "#cloud-config\npassword: hunter2-scratch\n";

let processes: ProviderProcess[] = [];
afterEach(async () => {
  for (const p of processes) await p.stop("SIGKILL");
  processes = [];
});
beforeAll(() => removeDomains("scratch-"));
afterAll(() => removeDomains("scratch-"));

/** A scratch root of this test's own, so other providers on the machine do not count. */
async function freshRoot(name: string): Promise<string> {
  const root = join(testbed().dir, "scratch", name);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  return root;
}

/** The provider directories under a scratch root (the lock file left out). */
async function scratchDirs(root: string): Promise<string[]> {
  const base = join(root, `virtrigaud-${uid}`);
  if (!existsSync(base)) return [];
  return (await readdir(base)).filter((n) => !n.startsWith(".")).map((n) => join(base, n));
}

/** Whether some process holds the lock of a directory (flock, as the providers do). */
async function held(dir: string): Promise<boolean> {
  return run("flock", ["-x", "-n", dir, "true"]).then(
    () => false,
    () => true,
  );
}

/** Polls `check` every 100 ms until it holds, failing after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Creates and deletes a VM with cloud-init through a provider process: its scratch directory is used. */
async function createWithSeed(url: string, name: string): Promise<void> {
  const client = createProviderClient(url);
  const { vmId, task } = await client.create({
    name,
    class: { cpu: 1, memoryMib: 128 },
    cloudInit: { userData: secret },
  });
  await client.waitForTask(task, { timeoutMs: 60_000, pollIntervalMs: 100 });
  const removal = await client.delete({ vmId });
  await client.waitForTask(removal.task, { timeoutMs: 60_000, pollIntervalMs: 100 });
}

describe("documents on the host", () => {
  it("are written 0600 in 0700 directories, the seed ISO is 0600, and nothing is left after use", async () => {
    const root = await freshRoot("modes");
    const written: Array<{ path: string; mode: number; dirMode: number; baseMode: number }> = [];
    // Watches each document as it lands (the host is this machine).
    const watch = (transport: HostTransport): HostTransport => ({
      description: transport.description,
      openShell: (signal) => transport.openShell(signal),
      openTerminal: (...args) => transport.openTerminal(...args),
      openTcp: (...args) => transport.openTcp(...args),
      close: () => transport.close(),
      openFile: (...args) => transport.openFile(...args),
      async writeFile(path, data, signal) {
        await transport.writeFile(path, data, signal);
        written.push({
          path,
          mode: (await stat(path)).mode & 0o777,
          dirMode: (await stat(dirname(path))).mode & 0o777,
          baseMode: (await stat(join(root, `virtrigaud-${uid}`))).mode & 0o777,
        });
      },
    });
    const provider = await useProvider({}, {}, { scratchRoot: root, wrapTransport: watch });
    try {
      const { test } = provider;
      const { vmId, task } = await test.client.create({
        name: "scratch-seed",
        class: { cpu: 1, memoryMib: 128 },
        cloudInit: { userData: secret },
      });
      await done(test, task);

      // The pool's journal entries are documents too (see orphans.test.ts).
      const journal = join(testbed().poolDir, ".virtrigaud-journal");
      const scratch = written.filter((w) => !w.path.startsWith(`${journal}/`));
      const names = scratch.map((w) => w.path.split("/").at(-1));
      expect(names).toEqual(expect.arrayContaining(["user-data", "meta-data", "domain.xml"]));
      for (const w of scratch) {
        expect(w.path.startsWith(`${root}/virtrigaud-${uid}/`)).toBe(true);
        expect([w.mode, w.dirMode, w.baseMode]).toEqual([0o600, 0o700, 0o700]);
      }
      for (const w of written.filter((w) => !scratch.includes(w))) {
        expect([w.mode, w.dirMode]).toEqual([0o600, 0o700]);
      }
      const iso = (await stat(join(testbed().poolDir, "scratch-seed-cidata.iso"))).mode & 0o777;
      expect(iso).toBe(0o600);
      // The operation's directory is gone; the provider's own stays while it runs.
      const [own, ...others] = await scratchDirs(root);
      expect(others).toEqual([]);
      expect(await readdir(own ?? "")).toEqual([]);
      expect(await held(own ?? "")).toBe(true);
      await done(test, (await test.client.delete({ vmId })).task);
    } finally {
      await provider.close();
    }
    // close() removes the provider's directory.
    expect(await scratchDirs(root)).toEqual([]);
  });
});

describe("the scratch directory of a provider process", () => {
  it("is removed on a clean stop (SIGTERM)", async () => {
    const root = await freshRoot("sigterm");
    const provider = await startProviderBinary(["--scratch-dir", root]);
    processes.push(provider);
    await createWithSeed(provider.url, "scratch-term");
    expect(await scratchDirs(root)).toHaveLength(1);

    expect(await provider.stop("SIGTERM")).toBe(0);
    expect(await scratchDirs(root)).toEqual([]);
  });

  it("is removed by the next provider to start after a kill -9, while a live provider's stays", async () => {
    const root = await freshRoot("kill");
    // A provider makes its directory at start (its first sweep), so they are told apart by order.
    const live = await startProviderBinary(["--scratch-dir", root]);
    processes.push(live);
    await until(
      "the live provider has its directory",
      async () => (await scratchDirs(root)).length === 1,
    );
    const [liveDir] = await scratchDirs(root);
    const killed = await startProviderBinary(["--scratch-dir", root]);
    processes.push(killed);
    await until(
      "the other provider has its directory",
      async () => (await scratchDirs(root)).length === 2,
    );
    const killedDir = (await scratchDirs(root)).find((d) => d !== liveDir) ?? "";
    await createWithSeed(live.url, "scratch-live-1");
    await createWithSeed(killed.url, "scratch-killed");

    await killed.stop("SIGKILL");
    // The host drops the lock when the killed process's connection closes.
    await until("the killed provider's lock is released", async () => !(await held(killedDir)));
    expect(existsSync(killedDir)).toBe(true);

    const next = await startProviderBinary(["--scratch-dir", root]);
    processes.push(next);
    await createWithSeed(next.url, "scratch-next");
    expect(existsSync(killedDir)).toBe(false);
    expect(existsSync(liveDir ?? "")).toBe(true);
    expect(await held(liveDir ?? "")).toBe(true);
    // The live provider still works in its directory.
    await createWithSeed(live.url, "scratch-live-2");
    expect(await scratchDirs(root)).toHaveLength(2);
  });
});
