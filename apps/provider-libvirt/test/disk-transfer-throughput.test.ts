import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { ImageFormat } from "@virtrigaud/contracts";
import type { Interceptor } from "@connectrpc/connect";
import { type ProviderClient, createProviderClient } from "@virtrigaud/contracts/client";
import type { TestServer } from "@virtrigaud/contracts/testing";
import { copyExport, readyExport } from "./disk-transfer.js";
import { removeDomains, testbed, virsh } from "./testbed.js";
import { done, useProvider } from "./use-provider.js";

// Export and import of the real guest image's disk (grown to 2 GiB) through
// the chunk loop a manager runs, beside plain tools over the same SSH.

const MB = 1e6;
let provider: Awaited<ReturnType<typeof useProvider>>;
let test: TestServer;
let vmId = "";
/** A client that asks for responses as they are: disk chunks do not shrink, and gzip costs CPU. */
let plain: ProviderClient;

/** Drops Accept-Encoding, so the server sends chunks uncompressed. */
const identityEncoding: Interceptor = (next) => (req) => {
  req.header.delete("accept-encoding");
  return next(req);
};
const scratch = () => `${testbed.dir}/throughput`;

beforeAll(async () => {
  await removeDomains("xfer-guest");
  provider = await useProvider();
  test = provider.test;
  const image = process.env["VIRTRIGAUD_GUEST_IMAGE"] ?? "";
  const created = await test.client.create({
    name: "xfer-guest",
    class: { cpu: 1, memoryMib: 256 },
    image: { source: { case: "path", value: image } },
    rootDiskSizeGib: 2,
  });
  vmId = created.vmId;
  plain = createProviderClient(test.server.url, { retry: false, interceptors: [identityEncoding] });
  await done(test, created.task);
});

afterAll(async () => {
  for (const id of ["tp-qcow2", "tp-raw"]) {
    await test?.client.diskExportEnd({ exportId: id }).catch(() => undefined);
    await test?.client.diskImportAbort({ importId: id }).catch(() => undefined);
  }
  plain?.close();
  await provider?.close();
  await removeDomains("xfer-guest");
  await rm(scratch(), { recursive: true, force: true });
});

/** Runs a command, feeding it a file on stdin when given; seconds it took. */
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
  const { disks } = await test.client.describeDisks({ vmId });
  const root = disks[0]?.location ?? "";
  const lines: string[] = [];
  for (const [id, format] of [
    ["tp-qcow2", ImageFormat.QCOW2],
    ["tp-raw", ImageFormat.RAW],
  ] as const) {
    let at = performance.now();
    const exported = await readyExport(test.client, {
      exportId: id,
      vmId,
      diskName: "root",
      format,
    });
    const convertS = (performance.now() - at) / 1000;
    const size = Number(exported.sizeBytes);
    const name = format === ImageFormat.QCOW2 ? "qcow2" : "raw";
    if (format === ImageFormat.QCOW2) {
      // The SDK's client as it is: it accepts gzip, and the server compresses each chunk.
      at = performance.now();
      await copyExport(test.client, test.client, exported, `${id}-gzip`, { inFlight: 4 });
      const gzipS = (performance.now() - at) / 1000;
      await test.client.diskImportAbort({ importId: `${id}-gzip` });
      lines.push(
        `ours ${name}, responses gzipped (the client's default): transfer+commit ${gzipS.toFixed(1)} s = ${rate(size, gzipS)}`,
      );
    }
    at = performance.now();
    const copy = await copyExport(plain, plain, exported, id, { inFlight: 4 });
    const copyS = (performance.now() - at) / 1000;
    // Committed: the import's whole-file SHA-256 is the export's.
    expect(copy.disk?.source).toEqual({ case: "importedDisk", value: id });
    lines.push(
      `ours ${name}: ${(size / MB).toFixed(0)} MB file (${copy.zeroChunks}/${copy.chunks} chunks zero), ` +
        `export ${convertS.toFixed(1)} s, transfer+commit ${copyS.toFixed(1)} s = ${rate(size, copyS)}, ` +
        `end to end ${rate(size, convertS + copyS)}`,
    );
    process.stdout.write(`${lines.join("\n")}\n`);

    // Plain tools: qemu-img convert to a file (qcow2 cannot go to a pipe, and
    // raw neither: qemu-img resizes its output), then the file piped into
    // `ssh host 'cat > file'` over the same SSH server.
    await virsh("pool-refresh", "--pool", "vrtg-test-pool");
    await rm(scratch(), { recursive: true, force: true });
    await timed("mkdir", ["-p", scratch()]);
    const local = `${scratch()}/baseline.${name}`;
    const baselineConvertS = await timed("qemu-img", ["convert", "-O", name, root, local]);
    const baselineSize = (await stat(local)).size;
    const sshS = await timed("ssh", sshCat(`${scratch()}/received.${name}`), local);
    expect((await stat(`${scratch()}/received.${name}`)).size).toBe(baselineSize);
    lines.push(
      `baseline ${name}: ${(baselineSize / MB).toFixed(0)} MB file, qemu-img convert ${baselineConvertS.toFixed(1)} s, ` +
        `ssh cat ${sshS.toFixed(1)} s = ${rate(baselineSize, sshS)}, end to end ${rate(baselineSize, baselineConvertS + sshS)}`,
    );
    await rm(scratch(), { recursive: true, force: true });
    await test.client.diskExportEnd({ exportId: id });
    await test.client.diskImportAbort({ importId: id });
  }
  process.stdout.write(
    `\ndisk transfer throughput (guest image, 2 GiB virtual):\n${lines.join("\n")}\n`,
  );
  expect(lines).toHaveLength(5);
}, 600_000);
