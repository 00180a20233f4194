import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { buildDomainXml } from "@virtrigaud/provider-libvirt";
import type { LibvirtTestbed } from "@virtrigaud/testbed";

const run = promisify(execFile);

/** The bench's domains: named `bench-NNN`, each with its own qcow2 overlay and a NIC. */
export interface Fleet {
  names: string[];
  uuids: string[];
  remove(): Promise<void>;
}

async function virshBatch(testbed: LibvirtTestbed, commands: string[]): Promise<void> {
  // One virsh process for the whole batch: set-up time is not what is measured.
  for (let i = 0; i < commands.length; i += 100) {
    await run("virsh", ["-q", "-c", testbed.uri, commands.slice(i, i + 100).join(" ; ")], {
      maxBuffer: 64 << 20,
    });
  }
}

/**
 * Defines `count` domains as the provider would have made them (its
 * metadata included), and starts the first `running` of them.
 */
export async function defineFleet(
  testbed: LibvirtTestbed,
  count: number,
  running: number,
  network: string,
): Promise<Fleet> {
  const dir = `${testbed.dir}/bench`;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const base = `${dir}/base.qcow2`;
  await run("qemu-img", ["create", "-q", "-f", "qcow2", base, "64M"]);
  const names: string[] = [];
  const uuids: string[] = [];
  const defines: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench-${String(i).padStart(3, "0")}`;
    const uuid = randomUUID();
    const disk = `${dir}/${name}-root.qcow2`;
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, disk, "1G"]);
    const xml = buildDomainXml({
      uuid,
      name,
      type: "qemu",
      vcpus: 1,
      maxVcpus: 2,
      memoryMib: 64,
      maxMemoryMib: 128,
      firmware: "bios",
      disks: [
        { name: "root", path: disk, format: "qcow2", device: "disk", target: "vda", bus: "virtio" },
      ],
      nics: [
        {
          kind: "network",
          source: network,
          model: "virtio",
          mac: `52:54:00:be:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`,
        },
      ],
      vncListen: "127.0.0.1",
      owner: {
        origin: "created",
        createdAt: Date.now(),
        disks: {},
        labels: { bench: "libvirt" },
        tags: [],
        image: "bench",
        linkedTo: "",
        memoryMib: 64,
        staticAddresses: {},
      },
    });
    await writeFile(`${dir}/${name}.xml`, xml);
    defines.push(`define --file '${dir}/${name}.xml'`);
    names.push(name);
    uuids.push(uuid);
  }
  await virshBatch(testbed, defines);
  await virshBatch(
    testbed,
    names.slice(0, running).map((n) => `start --domain '${n}'`),
  );
  return {
    names,
    uuids,
    async remove() {
      await virshBatch(
        testbed,
        names.flatMap((n) => [`destroy --domain '${n}'`, `undefine --domain '${n}'`]),
      ).catch(() => undefined);
      // virsh stops a batch at nothing: check every domain is gone.
      const left = (await run("virsh", ["-q", "-c", testbed.uri, "list", "--all", "--name"])).stdout
        .split("\n")
        .filter((n) => n.startsWith("bench-"));
      for (const n of left) {
        await run("virsh", ["-q", "-c", testbed.uri, "destroy", n]).catch(() => undefined);
        await run("virsh", ["-q", "-c", testbed.uri, "undefine", n]).catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Stops and forgets a storage pool and removes its directory, when they exist. */
export async function removePool(
  testbed: LibvirtTestbed,
  name: string,
  dir: string,
): Promise<void> {
  for (const command of ["pool-destroy", "pool-undefine"]) {
    await run("virsh", ["-q", "-c", testbed.uri, command, "--pool", name]).catch(() => undefined);
  }
  await rm(dir, { recursive: true, force: true });
}
