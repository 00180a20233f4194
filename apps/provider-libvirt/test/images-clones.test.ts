import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  ChecksumAlgorithm,
  CloneType,
  ErrorReason,
  Firmware,
  ImageFormat,
  PowerOperation,
  PowerState,
} from "@virtrigaud/contracts";
import type { TestServer } from "@virtrigaud/contracts/testing";
import { parseDomainXml } from "../src/xml/parse-domain.js";
import { chainOf, removeDomains, testbed, virsh } from "./testbed.js";
import { blankImage, done, errorOf, useProvider } from "./use-provider.js";

let provider: Awaited<ReturnType<typeof useProvider>>;
let test: TestServer;
let image: string;
let digest: string;
let http: Server;
let httpUrl: string;

beforeAll(async () => {
  await removeDomains("img-", "src-", "clone-");
  await virsh("vol-delete", "--pool", "vrtg-test-pool", "--vol", "debian-tiny.qcow2").catch(
    () => "",
  );
  await virsh("vol-delete", "--pool", "vrtg-test-pool", "--vol", "from-http.qcow2").catch(() => "");
  provider = await useProvider();
  test = provider.test;
  image = await blankImage("images-base", 32);
  const bytes = await readFile(image);
  digest = createHash("sha256").update(bytes).digest("hex");
  // The image server the host downloads from: on 127.0.0.1, where the host's curl runs.
  http = createServer((req, res) => {
    if (req.url === "/debian-tiny.qcow2") res.end(bytes);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await provider?.close();
  http?.close();
  // No guest of this file keeps running (and taking CPU) into the next.
  await removeDomains("img-", "src-", "clone-");
});

const checksum = (value: string) => ({ algorithm: ChecksumAlgorithm.SHA256, value });

describe("images", () => {
  it("prepares an image from a file URL, checking its digest, and creates VMs from it by name", async () => {
    const { image: prepared, task } = await test.client.imagePrepare({
      name: "debian-tiny",
      source: {
        source: {
          case: "url",
          value: { url: `file://${image}`, checksum: checksum(digest), format: ImageFormat.QCOW2 },
        },
      },
    });
    expect(prepared?.source).toEqual({ case: "template", value: "debian-tiny" });
    await done(test, task);
    expect(existsSync(`${testbed().poolDir}/debian-tiny.qcow2`)).toBe(true);
    // Idempotent by name: prepared already, nothing to do.
    expect(
      (
        await test.client.imagePrepare({
          name: "debian-tiny",
          source: { source: { case: "path", value: image } },
        })
      ).task,
    ).toBeUndefined();

    const { vmId, task: creating } = await test.client.create({
      name: "img-1",
      class: { cpu: 1, memoryMib: 128 },
      image: { source: { case: "template", value: "debian-tiny" } },
      rootDiskSizeGib: 2,
    });
    await done(test, creating);
    const info = parseDomainXml(await virsh("dumpxml", "--domain", vmId));
    expect(await chainOf(info.disks[0]?.path ?? "")).toEqual([
      `${testbed().poolDir}/debian-tiny.qcow2`,
    ]);
    const { vm } = await test.client.describe({ vmId });
    expect(vm?.resources?.disks[0]).toMatchObject({ name: "root", sizeGib: 2 });
  });

  it("checks a path image where it is: answers with the path, and INVALID_SPEC for a missing one", async () => {
    const { image: prepared, task } = await test.client.imagePrepare({
      name: "img-on-host",
      source: { source: { case: "path", value: image } },
    });
    expect(task).toBeUndefined();
    expect(prepared?.source).toEqual({ case: "path", value: image });
    expect(existsSync(`${testbed().poolDir}/img-on-host.qcow2`)).toBe(false);
    const error = await errorOf(
      test.client.imagePrepare({
        name: "img-missing",
        source: { source: { case: "path", value: "/nonexistent/debian-12.qcow2" } },
      }),
    );
    expect([error.reason, error.field]).toEqual([ErrorReason.INVALID_SPEC, "source.path"]);
    expect(error.rawMessage).toMatch(/is not a disk image on the host/);
  });

  it("downloads an image over HTTP on the host", async () => {
    const { task } = await test.client.imagePrepare({
      name: "from-http",
      source: {
        source: {
          case: "url",
          value: { url: `${httpUrl}/debian-tiny.qcow2`, checksum: checksum(digest) },
        },
      },
    });
    await done(test, task);
    expect(existsSync(`${testbed().poolDir}/from-http.qcow2`)).toBe(true);
  });

  it("refuses an image whose digest differs, and keeps nothing of it", async () => {
    const { task } = await test.client.imagePrepare({
      name: "tampered",
      source: {
        source: {
          case: "url",
          value: { url: `${httpUrl}/debian-tiny.qcow2`, checksum: checksum("0".repeat(64)) },
        },
      },
    });
    const error = await errorOf(done(test, task));
    expect([error.reason, error.field]).toEqual([
      ErrorReason.INVALID_SPEC,
      "source.url.checksum.value",
    ]);
    expect(existsSync(`${testbed().poolDir}/tampered.qcow2`)).toBe(false);
    expect(existsSync(`${testbed().poolDir}/.tampered.partial`)).toBe(false);
  });

  it("creates a VM straight from a URL image, downloading it once", async () => {
    const url = { url: `${httpUrl}/debian-tiny.qcow2`, checksum: checksum(digest) };
    const { vmId, task } = await test.client.create({
      name: "img-2",
      class: { cpu: 1, memoryMib: 128 },
      image: { source: { case: "url", value: url } },
    });
    await done(test, task);
    const info = parseDomainXml(await virsh("dumpxml", "--domain", vmId));
    expect((await chainOf(info.disks[0]?.path ?? ""))[0]).toMatch(/\/url-[0-9a-f]{16}\.qcow2$/);
  });

  it("boots UEFI VMs", async () => {
    const { vmId, task } = await test.client.create({
      name: "img-uefi",
      class: { cpu: 1, memoryMib: 128, firmware: Firmware.UEFI },
      image: { source: { case: "template", value: "debian-tiny" } },
      powerOn: true,
    });
    await done(test, task);
    const xml = await virsh("dumpxml", "--domain", vmId);
    expect(xml).toMatch(/<loader[^>]*type='pflash'[^>]*>\/usr\/share\/OVMF\//);
    const { vm } = await test.client.describe({ vmId });
    expect(vm).toMatchObject({ powerState: PowerState.ON, resources: { firmware: Firmware.UEFI } });
    await done(test, (await test.client.delete({ vmId })).task);
  });
});

describe("clones", () => {
  let sourceId = "";

  beforeAll(async () => {
    const { vmId, task } = await test.client.create({
      name: "src-1",
      class: { cpu: 1, memoryMib: 128 },
      image: { source: { case: "template", value: "debian-tiny" } },
      disks: [{ name: "data", sizeGib: 1 }],
      labels: { app: "db" },
    });
    sourceId = vmId;
    await done(test, task);
  });

  it("makes a full clone that shares no disk with its source", async () => {
    const { vmId, task } = await test.client.clone({
      sourceVmId: sourceId,
      name: "clone-full",
      type: CloneType.FULL,
      powerOn: true,
    });
    await done(test, task);
    const info = parseDomainXml(await virsh("dumpxml", "--domain", vmId));
    expect(info.disks.map((d) => d.path)).toEqual([
      `${testbed().poolDir}/clone-full-root.qcow2`,
      `${testbed().poolDir}/clone-full-data.qcow2`,
    ]);
    expect(await chainOf(info.disks[0]?.path ?? "")).toEqual([]);
    const { vm } = await test.client.describe({ vmId });
    expect(vm).toMatchObject({
      name: "clone-full",
      powerState: PowerState.ON,
      labels: { app: "db" },
    });
    expect(vm?.resources?.disks.map((d) => d.name)).toEqual(["root", "data"]);
    const again = await test.client.clone({
      sourceVmId: sourceId,
      name: "clone-full",
      type: CloneType.FULL,
    });
    expect(again.vmId).toBe(vmId);
  });

  it("makes a linked clone on frozen images of its source, which then cannot be deleted first", async () => {
    const { vmId, task } = await test.client.clone({
      sourceVmId: sourceId,
      name: "clone-linked",
      type: CloneType.LINKED,
    });
    await done(test, task);
    const clone = parseDomainXml(await virsh("dumpxml", "--domain", vmId));
    const source = parseDomainXml(await virsh("dumpxml", "--domain", sourceId));
    // The source moved onto new overlays; its old images are the clone's bases.
    const cloneChain = await chainOf(clone.disks[0]?.path ?? "");
    expect(cloneChain[0]).toBe(`${testbed().poolDir}/src-1-root.qcow2`);
    expect((await chainOf(source.disks[0]?.path ?? ""))[0]).toBe(cloneChain[0]);
    const conflict = await errorOf(test.client.delete({ vmId: sourceId }));
    expect(conflict.reason).toBe(ErrorReason.CONFLICT);
    // The source still runs and changes.
    await done(
      test,
      (await test.client.power({ vmId: sourceId, operation: PowerOperation.ON })).task,
    );
    await done(test, (await test.client.delete({ vmId })).task);
    await done(test, (await test.client.delete({ vmId: sourceId })).task);
    expect(existsSync(`${testbed().poolDir}/src-1-root.qcow2`)).toBe(false);
    expect(existsSync(`${testbed().poolDir}/debian-tiny.qcow2`)).toBe(true);
  });

  it("makes a linked clone from a snapshot of its source", async () => {
    const { vmId: srcId, task } = await test.client.create({
      name: "src-2",
      class: { cpu: 1, memoryMib: 128 },
      image: { source: { case: "template", value: "debian-tiny" } },
    });
    await done(test, task);
    await done(test, (await test.client.snapshotCreate({ vmId: srcId, name: "golden" })).task);
    const missing = await errorOf(
      test.client.clone({
        sourceVmId: srcId,
        name: "clone-nope",
        type: CloneType.LINKED,
        snapshotId: "nope",
      }),
    );
    expect(missing.reason).toBe(ErrorReason.NOT_FOUND);
    const { vmId, task: cloning } = await test.client.clone({
      sourceVmId: srcId,
      name: "clone-snap",
      type: CloneType.LINKED,
      snapshotId: "golden",
    });
    await done(test, cloning);
    const clone = parseDomainXml(await virsh("dumpxml", "--domain", vmId));
    expect(await chainOf(clone.disks[0]?.path ?? "")).toEqual([
      `${testbed().poolDir}/clone-snap-root-base.qcow2`,
    ]);
    // The clone owns its base: the source deletes freely.
    await done(test, (await test.client.delete({ vmId: srcId })).task);
    await done(test, (await test.client.delete({ vmId })).task);
    expect(existsSync(`${testbed().poolDir}/clone-snap-root-base.qcow2`)).toBe(false);
  });
});
