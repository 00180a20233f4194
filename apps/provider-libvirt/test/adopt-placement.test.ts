// Create adopts an imported disk into the pool its placement asks for, wherever
// the import sits: a rename on one file system, a copy (holes kept) across two.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { ErrorReason, ImageFormat } from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";
import type { TestServer } from "@virtrigaud/contracts/testing";
import { commitImport } from "./disk-transfer.js";
import { removeDomains, testbed, virsh } from "./testbed.js";
import { done, errorOf, testPool, useProvider } from "./use-provider.js";

const MiB = 1024 * 1024;
/** A pool beside the provider's, on its file system. */
const near = { name: "vrtg-near-pool", dir: `${testbed().dir}/near-pool` };
/** A pool on another file system (tmpfs). */
const far = { name: "vrtg-far-pool", dir: `/dev/shm/vrtg-far-pool-${process.pid}` };

let provider: Awaited<ReturnType<typeof useProvider>>;
let test: TestServer;
let client: ProviderClient;

/** 8 MiB: random MiBs at 0 and 5, holes between. */
const disk = Buffer.alloc(8 * MiB);
randomBytes(MiB).copy(disk, 0);
randomBytes(MiB).copy(disk, 5 * MiB);
const digest = createHash("sha256").update(disk).digest("hex");

async function definePool(pool: { name: string; dir: string }): Promise<void> {
  await removePool(pool);
  mkdirSync(pool.dir, { recursive: true });
  await virsh("pool-define-as", pool.name, "dir", "--target", pool.dir);
  await virsh("pool-start", pool.name);
}

async function removePool(pool: { name: string; dir: string }): Promise<void> {
  await virsh("pool-destroy", pool.name).catch(() => "");
  await virsh("pool-undefine", pool.name).catch(() => "");
  rmSync(pool.dir, { recursive: true, force: true });
}

/** An import of `disk` (RAW), committed, in `pool`; answers its volume's path. */
async function importInto(importId: string, pool: string): Promise<string> {
  await client.diskImportBegin({
    importId,
    format: ImageFormat.RAW,
    sizeBytes: BigInt(disk.length),
    sha256: digest,
    placement: { storagePool: pool },
  });
  for (let offset = 0; offset < disk.length; offset += MiB) {
    const bytes = disk.subarray(offset, offset + MiB);
    await client.diskImportWrite({
      importId,
      chunk: {
        offset: BigInt(offset),
        content: bytes.some((b) => b !== 0)
          ? { case: "data", value: bytes }
          : { case: "zeroLength", value: BigInt(bytes.length) },
        sha256: createHash("sha256").update(bytes).digest("hex"),
      },
    });
  }
  await commitImport(client, importId);
  const dir = pool === near.name ? near.dir : pool === far.name ? far.dir : testbed().poolDir;
  const [volume] = (await virsh("vol-list", pool)).match(/\S*imported-\S+/g) ?? [];
  expect(volume).toBeDefined();
  return `${dir}/${volume}`;
}

/** Creates a VM, off, whose root disk is that import, placed in `pool` (none: the provider's). */
async function createFrom(name: string, importId: string, pool?: string): Promise<string> {
  const { vmId, task } = await client.create({
    name,
    class: { cpu: 1, memoryMib: 128 },
    image: { source: { case: "importedDisk", value: importId } },
    ...(pool ? { placement: { storagePool: pool } } : {}),
  });
  await done(test, task);
  return vmId;
}

async function rootLocation(vmId: string): Promise<string | undefined> {
  return (await client.describeDisks({ vmId })).disks[0]?.location;
}

const importIds = ["place-rename", "place-near", "place-far", "place-none"];
/** Aborts this file's imports: the volumes of those no VM adopted, and every record. */
async function abortImports(): Promise<void> {
  for (const importId of importIds) await client.diskImportAbort({ importId });
}

const poolVolumes = async (pool: string) => (await virsh("vol-list", pool)).trim();

/** Removes the domains of an earlier run and their files in the provider's pool. */
async function removeLeftovers(): Promise<void> {
  await removeDomains("place-");
  for (const name of readdirSync(testbed().poolDir)) {
    if (name.startsWith("place-")) rmSync(`${testbed().poolDir}/${name}`, { force: true });
  }
  await virsh("pool-refresh", testPool).catch(() => "");
}

beforeAll(async () => {
  await removeLeftovers();
  await definePool(near);
  await definePool(far);
  provider = await useProvider();
  test = provider.test;
  client = test.client;
  await abortImports();
});

afterAll(async () => {
  if (client) await abortImports();
  await provider?.close();
  await removeLeftovers();
  await removePool(near);
  await removePool(far);
});

it.each([
  {
    what: "an import of another pool into the provider's pool when no placement is asked",
    id: "place-rename",
    from: near.name,
    placement: undefined,
    to: { name: testPool, dir: testbed().poolDir },
  },
  {
    what: "an import into the pool the placement asks for",
    id: "place-near",
    from: testPool,
    placement: near.name,
    to: near,
  },
])("moves $what by a rename on one file system, and Delete removes it there", async (c) => {
  const volume = await importInto(c.id, c.from);
  const inode = statSync(volume).ino;
  const vmId = await createFrom(c.id, c.id, c.placement);
  const path = `${c.to.dir}/${c.id}-root.raw`;
  expect(await rootLocation(vmId)).toBe(path);
  // The same file: renamed, not copied.
  expect(statSync(path).ino).toBe(inode);
  expect(existsSync(volume)).toBe(false);
  // libvirt sees it in the pool it went to, and no longer in the import's.
  expect(await poolVolumes(c.to.name)).toContain(`${c.id}-root.raw`);
  expect(await poolVolumes(c.from)).not.toContain("imported-");
  await done(test, (await client.delete({ vmId })).task);
  expect(existsSync(path)).toBe(false);
  expect(await poolVolumes(c.to.name)).not.toContain(c.id);
});

it("copies an adopted disk into a pool on another file system, holes kept, and removes the import's volume", async () => {
  const volume = await importInto("place-far", testPool);
  const vmId = await createFrom("place-far", "place-far", far.name);
  const path = `${far.dir}/place-far-root.raw`;
  expect(await rootLocation(vmId)).toBe(path);
  expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(digest);
  // Sparse: the two data MiBs are allocated, the holes are not.
  expect(statSync(path).blocks * 512).toBeLessThan(4 * MiB);
  expect(existsSync(volume)).toBe(false);
  expect(existsSync(`${path}.partial`)).toBe(false);
  expect(await poolVolumes(far.name)).toContain("place-far-root.raw");
  await done(test, (await client.delete({ vmId })).task);
  expect(existsSync(path)).toBe(false);
});

it("refuses a placement in a pool the host does not have, naming the field, and keeps the import", async () => {
  const volume = await importInto("place-none", testPool);
  const refused = await errorOf(
    client.create({
      name: "place-none",
      class: { cpu: 1, memoryMib: 128 },
      image: { source: { case: "importedDisk", value: "place-none" } },
      placement: { storagePool: "vrtg-no-such-pool" },
    }),
  );
  expect([refused.reason, refused.field]).toEqual([
    ErrorReason.INVALID_SPEC,
    "placement.storage_pool",
  ]);
  expect(existsSync(volume)).toBe(true);
  await client.diskImportAbort({ importId: "place-none" });
  expect(existsSync(volume)).toBe(false);
});
