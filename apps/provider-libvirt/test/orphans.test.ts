// Leftovers of a provider process killed mid-Create: the next provider to
// start removes the dead process's scratch directory and, once they have been
// unchanged for the grace, the files the Create had made, while another live
// provider's Create under way keeps its files; files no record names are
// reported, never removed.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rm, stat } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { ChecksumAlgorithm } from "@virtrigaud/contracts";
import { createProviderClient } from "@virtrigaud/contracts/client";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import { removeDomains, testbed, virsh } from "./testbed.js";
import { blankImage, startProviderBinary, testPool } from "./use-provider.js";

const run = promisify(execFile);
const uid = process.getuid?.() ?? 0;
const journalDir = () => join(testbed().poolDir, ".virtrigaud-journal");

let processes: ProviderProcess[] = [];
afterEach(async () => {
  for (const p of processes) await p.stop("SIGKILL");
  processes = [];
});

let http: Server;
let url = "";
let digest = "";
/** Requests for /slow.qcow2 so far; each gets 1 KiB and then hangs until the server closes. */
let slowRequests = 0;

beforeAll(async () => {
  await removeDomains("orphan-");
  const bytes = await readFile(await blankImage("orphan-image", 16));
  digest = createHash("sha256").update(bytes).digest("hex");
  http = createServer((req, res) => {
    if (req.url?.startsWith("/slow")) {
      res.writeHead(200, { "content-length": String(bytes.length) });
      res.write(bytes.subarray(0, 1024));
      slowRequests++;
      return;
    }
    res.end(bytes);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  http?.closeAllConnections();
  http?.close();
  await removeDomains("orphan-");
});

async function freshRoot(name: string): Promise<string> {
  const root = join(testbed().dir, "scratch", name);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  return root;
}

async function scratchDirs(root: string): Promise<string[]> {
  const base = join(root, `virtrigaud-${uid}`);
  if (!existsSync(base)) return [];
  return (await readdir(base)).filter((n) => !n.startsWith(".")).map((n) => join(base, n));
}

async function held(dir: string): Promise<boolean> {
  return run("flock", ["-x", "-n", dir, "true"]).then(
    () => false,
    () => true,
  );
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The pool's volumes as libvirt lists them, after a refresh. */
async function volumes(): Promise<string[]> {
  await virsh("pool-refresh", "--pool", testPool);
  return (await virsh("vol-list", "--pool", testPool))
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter(Boolean);
}

/** Starts a Create whose image download hangs, and waits until the host is downloading it. */
async function slowCreate(provider: ProviderProcess, name: string): Promise<void> {
  const before = slowRequests;
  await createProviderClient(provider.url).create({
    name,
    class: { cpu: 1, memoryMib: 128 },
    image: {
      source: {
        case: "url",
        value: {
          url: `${url}/slow-${name}.qcow2`,
          checksum: { algorithm: ChecksumAlgorithm.SHA256, value: digest },
        },
      },
    },
    disks: [{ name: "data", sizeGib: 1 }],
    cloudInit: { userData: "#cloud-config\npassword: hunter2-orphans\n" },
  });
  await until(`${name}'s image is downloading`, () => Promise.resolve(slowRequests > before));
}

/** The files a slow Create has made by the time it downloads: data disk, seed, partial image. */
async function madeBy(name: string): Promise<string[]> {
  return (await volumes()).filter(
    (v) => v.startsWith(`${name}-`) || (v.startsWith(".url-") && v.endsWith(".partial")),
  );
}

describe("a provider process killed mid-Create", () => {
  it("leaves nothing once the next provider has started and the grace has passed, and a live Create keeps its files", async () => {
    const root = await freshRoot("orphans");
    const flags = ["--scratch-dir", root, "--orphan-grace", "2s"];
    const live = await startProviderBinary(flags);
    processes.push(live);
    await slowCreate(live, "orphan-live");
    const liveFiles = await madeBy("orphan-live");
    expect(liveFiles.filter((f) => f.startsWith("orphan-live-")).sort()).toEqual([
      "orphan-live-cidata.iso",
      "orphan-live-disk-data.qcow2",
    ]);

    const killed = await startProviderBinary(flags);
    processes.push(killed);
    await slowCreate(killed, "orphan-killed");
    const [killedFiles, dirs] = [await madeBy("orphan-killed"), await scratchDirs(root)];
    expect(killedFiles).toEqual(
      expect.arrayContaining(["orphan-killed-cidata.iso", "orphan-killed-disk-data.qcow2"]),
    );
    expect(dirs).toHaveLength(2);
    expect((await readdir(journalDir())).length).toBeGreaterThanOrEqual(4);

    await killed.stop("SIGKILL");
    // The host drops the killed process's lock when its connection closes.
    let killedDir = "";
    await until("the killed provider's lock is released", async () => {
      for (const d of dirs) if (!(await held(d))) killedDir = d;
      return killedDir !== "";
    });

    const next = await startProviderBinary(flags);
    processes.push(next);
    await until("the killed provider's scratch directory is gone", () =>
      Promise.resolve(!existsSync(killedDir)),
    );
    expect(dirs.filter((d) => d !== killedDir).every((d) => existsSync(d))).toBe(true);
    await until("the killed Create's files are collected", async () =>
      (await volumes()).every((v) => !v.startsWith("orphan-killed-")),
    );
    // The killed Create's partial image went too; the live Create's files did not.
    const left = await volumes();
    expect(left.filter((v) => v.startsWith(".url-") && v.endsWith(".partial"))).toHaveLength(1);
    expect(left).toEqual(expect.arrayContaining(liveFiles));
    // Any live provider's periodic sweep may be the one that collects them.
    const collected = [...live.logs, ...next.logs]
      .filter((l) => l["msg"] === "collected a file of an operation whose provider process is gone")
      .map((l) => String(l["file"]).split("/").at(-1));
    expect(collected).toEqual(
      expect.arrayContaining(["orphan-killed-cidata.iso", "orphan-killed-disk-data.qcow2"]),
    );
    expect(await virsh("list", "--all", "--name")).not.toContain("orphan-killed");
  });
});

describe("files that look like a VM's but that nothing names", () => {
  it("are reported in the log and on /metrics, and left in place", async () => {
    const root = await freshRoot("report");
    const flags = ["--scratch-dir", root, "--orphan-grace", "2s"];
    const maker = await startProviderBinary(flags);
    processes.push(maker);
    const client = createProviderClient(maker.url);
    const { task } = await client.create({
      name: "orphan-report",
      class: { cpu: 1, memoryMib: 128 },
      disks: [{ name: "data", sizeGib: 1 }],
    });
    await client.waitForTask(task, { timeoutMs: 60_000, pollIntervalMs: 100 });
    // The domain goes behind the provider's back: its disk is left, and no record says whose it is.
    await virsh("undefine", "--domain", "orphan-report");
    const file = join(testbed().poolDir, "orphan-report-disk-data.qcow2");
    await until("the disk has been unchanged for the grace", async () => {
      const { ctimeMs } = await stat(file);
      return Date.now() - ctimeMs > 3000;
    });

    const watcher = await startProviderBinary([...flags, "--ops-listen", "127.0.0.1:0"]);
    processes.push(watcher);
    // Its first sweep, at start, sees the disk past the grace: it reports it and removes nothing.
    await until("the disk is reported", () =>
      Promise.resolve(watcher.logs.some((l) => l["level"] === "warn" && l["file"] === file)),
    );
    expect(existsSync(file)).toBe(true);
    const metrics = await (await fetch(`${watcher.opsUrl}/metrics`)).text();
    const reported = /^virtrigaud_libvirt_orphan_volumes_reported(?:\{[^}]*\})? (\d+)/m.exec(
      metrics,
    );
    expect(Number(reported?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
    await rm(file);
  });
});
