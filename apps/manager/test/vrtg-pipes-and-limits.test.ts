import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { Kind, ManagerService } from "@virtrigaud/proto/manager";
import { fromResource } from "../src/manifest/kinds.js";
import { type ServerProcess, spawnManager, vrtg } from "./processes.js";

const vrtgBin = fileURLToPath(new URL("../dist/vrtg/cli.js", import.meta.url));
const MiB = 1024 * 1024;

const vmClass = (name: string, annotations = "") => `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: ${name}
${annotations ? `  annotations:\n${annotations}` : ""}spec:
  cpu: 2
  memory: 1Gi
`;
const classes = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => vmClass(`${prefix}-${i}`)).join("---\n");

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The most memory the process held, in bytes. */
  peakRss: number;
}

// vrtg against a manager process: a reader that goes away, an output that
// cannot be written, and inputs too large or not UTF-8.
describe("vrtg's input and output", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-io-"));
  // Written by each vrtg as it exits: its peak RSS, which a huge input must not drive up.
  // VmHWM, not resourceUsage().maxRSS: Linux carries the peak of the process
  // before its exec into maxRSS, and a child forked from jest starts as a copy
  // of jest (hundreds of MiB by the time these tests run after others).
  const rssHook = join(dir, "peak-rss.cjs");
  writeFileSync(
    rssHook,
    'process.on("exit", () => { const fs = require("node:fs"); const kib = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]; fs.writeFileSync(process.env.VRTG_TEST_RSS_FILE, String(Number(kib) * 1024)); });\n',
  );
  let manager: ServerProcess;
  let client: ReturnType<typeof createServiceClient<typeof ManagerService>>;
  let runs = 0;
  const started: ChildProcess[] = [];
  beforeAll(async () => {
    manager = await spawnManager(join(dir, "data"));
    client = createServiceClient(ManagerService, manager.url);
  });
  afterAll(async () => {
    // A vrtg still running (a test that timed out on it) is stopped.
    for (const child of started)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    client.close();
    await manager.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const classNames = async (namespace: string) =>
    (await client.list({ kind: Kind.VM_CLASS, namespace })).resources.map(
      (r) => fromResource(r)?.message.metadata?.name ?? "",
    );

  /** Starts vrtg with its standard output on `stdout` (a pipe unless given a descriptor). */
  function start(args: string[], stdout: "pipe" | number = "pipe") {
    const rssFile = join(dir, `rss-${++runs}`);
    const child = spawn(process.execPath, [vrtgBin, "--server", manager.url, ...args], {
      stdio: ["pipe", stdout, "pipe"],
      env: {
        ...process.env,
        // The heap cap only keeps a vrtg that does read everything from taking the shared machine's memory.
        NODE_OPTIONS: `--require ${rssHook} --max-old-space-size=1024`,
        VRTG_TEST_RSS_FILE: rssFile,
      },
    });
    started.push(child);
    let stdoutText = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdoutText += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdin?.on("error", () => {}); // vrtg may exit before it has read everything
    const finished = new Promise<Finished>((resolve) =>
      child.once("close", (code) =>
        resolve({
          code,
          stdout: stdoutText,
          stderr,
          // No file: it died without exiting (out of memory), so no peak to report.
          peakRss: existsSync(rssFile) ? Number(readFileSync(rssFile, "utf8")) : Infinity,
        }),
      ),
    );
    return { child, finished };
  }

  /** Writes `chunk` to the child's stdin until `total` bytes or until it stops reading; returns how much it took. */
  function feed(child: ChildProcess, chunk: Buffer, total: number): Promise<number> {
    const stdin = child.stdin;
    if (!stdin) throw new Error("no stdin");
    let written = 0;
    return new Promise((resolve) => {
      stdin.once("error", () => resolve(written));
      stdin.once("close", () => resolve(written));
      const more = () => {
        while (written < total) {
          written += chunk.length;
          if (!stdin.write(chunk)) return void stdin.once("drain", more);
        }
        stdin.end();
      };
      more();
    });
  }

  it("applies every document when its reader closes standard output before the first line", async () => {
    const { child, finished } = start(["-n", "closed", "apply", "-f", "-"]);
    child.stdout?.destroy(); // `vrtg apply -f - | true`
    child.stdin?.end(classes(30, "c"));
    const result = await finished;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect((await classNames("closed")).length).toBe(30);
  });

  it("applies every document when its reader goes after one line, as head -1 does", async () => {
    const { child, finished } = start(["-n", "head", "apply", "-f", "-"]);
    child.stdout?.once("data", () => child.stdout?.destroy());
    child.stdin?.end(classes(100, "h"));
    const result = await finished;
    expect(result.stdout).toMatch(/^vmclass\/h-0 created\n/);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect((await classNames("head")).length).toBe(100);
  });

  it("ends get -w and events -w quietly when their reader goes", async () => {
    await vrtg(manager.url, ["-n", "watched", "apply", "-f", "-"], vmClass("w-1"));
    for (const args of [
      ["get", "vmclasses", "-w"],
      ["events", "-w"],
    ]) {
      const { child, finished } = start(["-n", "watched", ...args]);
      child.stdout?.destroy();
      const result = await finished;
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({
        args,
        code: 0,
        stderr: "",
      });
    }
    // A watch that already printed ends at its next line.
    const { child, finished } = start(["-n", "watched", "get", "vmclasses", "-w"]);
    child.stdout?.once("data", () => {
      child.stdout?.destroy();
      void vrtg(manager.url, ["-n", "watched", "apply", "-f", "-"], vmClass("w-2"));
    });
    const result = await finished;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  }, 60_000);

  it("says so and exits 1 when standard output cannot be written", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const { finished } = start(["-n", "watched", "get", "vmclasses"], full);
      const result = await finished;
      expect(result.stderr).toBe(
        "error: cannot write to standard output: ENOSPC: no space left on device, write\n",
      );
      expect(result.code).toBe(1);
    } finally {
      closeSync(full);
    }
  });

  it("refuses a document larger than the manager takes before reading the rest of it", async () => {
    const path = join(dir, "huge.yaml");
    writeFileSync(
      path,
      `${vmClass("small-one")}---\n${vmClass("huge", `    note: "${"x".repeat(50 * MiB)}"\n`)}`,
    );
    const { finished } = start(["-n", "huge", "apply", "-f", path]);
    const result = await finished;
    expect(result.stderr).toBe(
      `error: ${path} (document 2): larger than 4 MiB, the most the manager takes in one request\n`,
    );
    expect(result.code).toBe(4);
    expect(result.peakRss).toBeLessThan(200 * MiB);
    expect(await classNames("huge")).toEqual([]);
  });

  it("stops reading standard input past 64 MiB, before parsing any of it", async () => {
    const { child, finished } = start(["-n", "flood", "apply", "-f", "-"]);
    const taken = await feed(child, Buffer.from(`${classes(100, "f")}---\n`), 200 * MiB);
    const result = await finished;
    expect(result.stderr).toBe(
      "error: <stdin>: the manifests given come to more than 64 MiB, the most vrtg reads at once; apply them in parts\n",
    );
    expect(result.code).toBe(4);
    expect(taken).toBeLessThan(100 * MiB);
    // The 64 MiB read are held until they are all read; parsing them would take gigabytes.
    expect(result.peakRss).toBeLessThan(256 * MiB);
    expect(await classNames("flood")).toEqual([]);
  }, 60_000);

  it("refuses a file larger than 64 MiB without opening it", async () => {
    const path = join(dir, "sparse.yaml");
    writeFileSync(path, "");
    truncateSync(path, 65 * MiB); // zeros: read, they would be one 65 MiB line
    const { finished } = start(["-n", "sparse", "apply", "-f", path]);
    const result = await finished;
    expect(result.stderr).toBe(
      `error: ${path}: the manifests given come to more than 64 MiB, the most vrtg reads at once; apply them in parts\n`,
    );
    expect(result.code).toBe(4);
    expect(result.peakRss).toBeLessThan(200 * MiB);
  });

  it("refuses a manifest that is not UTF-8, naming the byte, and stores nothing", async () => {
    const path = join(dir, "latin1.yaml");
    const text = `${vmClass("fine")}---\n${vmClass("cafe", '    city: "Besan\u00e7on"\n')}`;
    const at = Buffer.byteLength(text.slice(0, text.indexOf("\u00e7")));
    writeFileSync(path, Buffer.from(text, "latin1"));
    const result = await vrtg(manager.url, ["-n", "latin1", "apply", "-f", path]);
    expect(result.stderr).toBe(
      `error: ${path}: not UTF-8: an invalid byte at offset ${at} (line 14)\n`,
    );
    expect(result.code).toBe(4);
    expect(await classNames("latin1")).toEqual([]);
  });

  it("refuses a TLS file that cannot be one, without reading it to the end", async () => {
    for (const [file, message] of [
      ["/dev/zero", "larger than 1 MiB, so not a certificate or key"],
      [
        join(dir, "missing.pem"),
        `ENOENT: no such file or directory, open '${join(dir, "missing.pem")}'`,
      ],
    ] as const) {
      const { finished } = start(["--ca", file, "-s", "https://127.0.0.1:1", "get", "vm"]);
      const result = await finished;
      expect(result.stderr).toBe(`error: --ca ${file}: ${message}\n`);
      expect(result.code).toBe(2);
      expect(result.peakRss).toBeLessThan(200 * MiB);
    }
  });

  it("cuts short errors that echo a huge value or key", async () => {
    const huge = "x".repeat(3 * MiB);
    // An enum vrtg decodes itself, and a label key only the manager checks.
    for (const [name, manifest] of [
      ["enum.yaml", vmClass("enum").replace("memory: 1Gi", `memory: 1Gi\n  firmware: ${huge}`)],
      [
        "key.yaml",
        vmClass("key").replace(
          "  name: key\n",
          `  name: key\n  labels:\n    ? ${huge}.\n    : v\n`,
        ),
      ],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, manifest);
      const result = await vrtg(manager.url, ["-n", "echo", "apply", "-f", path]);
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/… \(\d+ more characters\)/);
      expect(result.stderr.length).toBeLessThan(2000);
    }
  }, 60_000);
});
