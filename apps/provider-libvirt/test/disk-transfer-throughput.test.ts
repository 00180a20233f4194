import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { ImageFormat } from "@virtrigaud/contracts";
import { type ProviderClient, createProviderClient } from "@virtrigaud/contracts/client";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import { copyExport, readyExport } from "./disk-transfer.js";
import { removeDomains, testbed } from "./testbed.js";
import { startProviderBinary } from "./use-provider.js";

// Export and import of the real guest image's disk (grown to 2 GiB) through
// the chunk loop a manager runs, beside plain tools over the same SSH. As in
// a migration, the source and the target provider are processes of their own
// (the built binary, over SSH), and the loop runs in this one.

const MB = 1e6;
let processes: ProviderProcess[] = [];
let source: ProviderClient;
let target: ProviderClient;
let vmId = "";
const scratch = () => `${testbed.dir}/throughput`;

/** Drops Accept-Encoding: chunks come back uncompressed (disk bytes hardly shrink, and gzip costs CPU). */
const identityEncoding: Interceptor = (next) => (req) => {
  req.header.delete("accept-encoding");
  return next(req);
};

beforeAll(async () => {
  await removeDomains("xfer-guest");
  processes = [await startProviderBinary(), await startProviderBinary()];
  [source, target] = processes.map((p) =>
    createProviderClient(p.url, { retry: false, interceptors: [identityEncoding] }),
  ) as [ProviderClient, ProviderClient];
  const created = await source.create({
    name: "xfer-guest",
    class: { cpu: 1, memoryMib: 256 },
    image: { source: { case: "path", value: process.env["VIRTRIGAUD_GUEST_IMAGE"] ?? "" } },
    rootDiskSizeGib: 2,
  });
  vmId = created.vmId;
  await source.waitForTask(created.task, { timeoutMs: 110_000 });
});

afterAll(async () => {
  for (const id of ["tp-qcow2", "tp-raw"]) {
    await source?.diskExportEnd({ exportId: id }).catch(() => undefined);
    await target?.diskImportAbort({ importId: id }).catch(() => undefined);
  }
  source?.close();
  target?.close();
  for (const p of processes) await p.stop();
  await removeDomains("xfer-guest");
  await rm(scratch(), { recursive: true, force: true });
});

/** Runs a command, feeding it a file on stdin when given; the seconds it took. */
function timed(command: string, args: string[], input?: string): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input ? "pipe" : "ignore", "ignore", "inherit"] });
    if (input && child.stdin) createReadStream(input).pipe(child.stdin);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve((performance.now() - start) / 1000)
        : reject(new Error(`${command} exited ${code}`)),
    );
  });
}

/** `ssh host 'cat > path'` with the test bed's key and known hosts. */
function sshCat(path: string): string[] {
  return [
    "-i",
    testbed.sshKeyFile,
    "-p",
    String(testbed.sshPort),
    "-o",
    `UserKnownHostsFile=${testbed.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    `${testbed.sshUser}@${testbed.sshHost}`,
    `cat > '${path}'`,
  ];
}

const rate = (bytes: number, seconds: number) => `${(bytes / MB / seconds).toFixed(1)} MB/s`;

it("moves the guest disk through the chunk loop, qcow2 and raw, and prints the rates beside qemu-img and ssh", async () => {
  const { disks } = await source.describeDisks({ vmId });
  const root = disks[0]?.location ?? "";
  const lines: string[] = [];
  for (const [id, format] of [
    ["tp-qcow2", ImageFormat.QCOW2],
    ["tp-raw", ImageFormat.RAW],
  ] as const) {
    const name = format === ImageFormat.QCOW2 ? "qcow2" : "raw";
    let at = performance.now();
    const exported = await readyExport(source, { exportId: id, vmId, diskName: "root", format });
    const convertS = (performance.now() - at) / 1000;
    const size = Number(exported.sizeBytes);
    at = performance.now();
    const copy = await copyExport(source, target, exported, id, { inFlight: 4 });
    const copyS = (performance.now() - at) / 1000;
    // Committed: the import's whole-file SHA-256 is the export's.
    expect(copy.disk?.source).toEqual({ case: "importedDisk", value: id });
    lines.push(
      `ours ${name}: ${(size / MB).toFixed(0)} MB file (${copy.zeroChunks}/${copy.chunks} chunks zero), ` +
        `export ${convertS.toFixed(1)} s, transfer+commit ${copyS.toFixed(1)} s = ${rate(size, copyS)}, ` +
        `end to end ${rate(size, convertS + copyS)}; per chunk: read ${(copy.readMs / copy.chunks).toFixed(0)} ms, ` +
        `write ${(copy.writeMs / copy.chunks).toFixed(0)} ms (4 in flight), commit ${(copy.commitMs / 1000).toFixed(1)} s`,
    );

    // Plain tools: qemu-img convert to a file (neither qcow2 nor raw output
    // can go to a pipe: qemu-img seeks and resizes it), then the file piped
    // into `ssh host 'cat > file'` over the same SSH server.
    await rm(scratch(), { recursive: true, force: true });
    await mkdir(scratch(), { recursive: true });
    const local = `${scratch()}/baseline.${name}`;
    const convertBaselineS = await timed("qemu-img", ["convert", "-O", name, root, local]);
    const baselineSize = (await stat(local)).size;
    const sshS = await timed("ssh", sshCat(`${scratch()}/received.${name}`), local);
    expect((await stat(`${scratch()}/received.${name}`)).size).toBe(baselineSize);
    lines.push(
      `baseline ${name}: ${(baselineSize / MB).toFixed(0)} MB file, qemu-img convert ${convertBaselineS.toFixed(1)} s, ` +
        `ssh cat ${sshS.toFixed(1)} s = ${rate(baselineSize, sshS)}, end to end ${rate(baselineSize, convertBaselineS + sshS)}`,
    );
    await rm(scratch(), { recursive: true, force: true });
    await source.diskExportEnd({ exportId: id });
    await target.diskImportAbort({ importId: id });
  }
  process.stdout.write(
    `\ndisk transfer throughput (guest image, 2 GiB virtual):\n${lines.join("\n")}\n`,
  );
  expect(lines).toHaveLength(4);
}, 600_000);
