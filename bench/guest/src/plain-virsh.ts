import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildDomainXml, buildSeedDocuments } from "@virtrigaud/provider-libvirt";
import { type GuestLogin, sleep, sshUntil } from "./guest-ssh.js";
import type { GuestTestbed } from "@virtrigaud/testbed";
import { type BootTimes, type GuestShape, qemuStartedAt } from "./boot-times.js";

const run = promisify(execFile);

/**
 * The baseline: the same guest booted with plain tools on the same libvirtd,
 * as a person with a shell would: the same seed (genisoimage), a qcow2
 * overlay on the same image (qemu-img), the same domain definition (the
 * provider's XML builder, so the hardware is identical), `virsh define` and
 * `virsh start`, then `virsh domifaddr --source lease` every second until the
 * guest has an address, then SSH every second until a login succeeds.
 */
export async function bootWithVirsh(
  testbed: GuestTestbed,
  shape: GuestShape,
  name: string,
  login: Omit<GuestLogin, "address">,
  deadline: number,
): Promise<BootTimes> {
  const virsh = async (...args: string[]) =>
    (await run("virsh", ["-q", "-c", testbed.uri, ...args])).stdout;
  const dir = join(testbed.dir, "bench-guest", name);
  const started = Date.now();
  try {
    mkdirSync(dir, { recursive: true });
    const uuid = randomUUID();
    const mac = `52:54:00:${[1, 2, 3]
      .map(() =>
        Math.floor(Math.random() * 256)
          .toString(16)
          .padStart(2, "0"),
      )
      .join(":")}`;
    // A fresh object, so its named documents can be read by file name.
    const files: Record<string, string | undefined> = {
      ...buildSeedDocuments({
        userData: shape.userData,
        metaData: "",
        networkConfig: "",
        instanceId: uuid,
        hostname: name,
        nics: [{ mac, staticIp: undefined }],
      }),
    };
    for (const [file, text] of Object.entries(files)) {
      if (text !== undefined) writeFileSync(join(dir, file), text);
    }
    const seed = join(dir, "cidata.iso");
    await run("genisoimage", [
      "-quiet",
      "-output",
      seed,
      "-volid",
      "cidata",
      "-joliet",
      "-rock",
      ...Object.keys(files)
        .filter((f) => files[f] !== undefined)
        .map((f) => join(dir, f)),
    ]);
    const root = join(dir, "root.qcow2");
    await run("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "qcow2",
      "-b",
      testbed.image,
      root,
      `${shape.rootGib}G`,
    ]);
    const xml = buildDomainXml({
      uuid,
      name,
      type: "qemu",
      vcpus: shape.cpu,
      maxVcpus: shape.cpu * 2,
      memoryMib: shape.memoryMib,
      maxMemoryMib: shape.memoryMib * 2,
      firmware: "bios",
      disks: [
        { name: "root", path: root, format: "qcow2", device: "disk", target: "vda", bus: "virtio" },
        { name: "cidata", path: seed, format: "raw", device: "cdrom", target: "sda", bus: "scsi" },
      ],
      nics: [{ kind: "network", source: testbed.network, model: "virtio", mac }],
      vncListen: "127.0.0.1",
      owner: {
        origin: "created",
        createdAt: Date.now(),
        disks: {},
        labels: {},
        tags: [],
        image: "",
        linkedTo: "",
        memoryMib: shape.memoryMib,
        staticAddresses: {},
      },
    });
    writeFileSync(join(dir, "domain.xml"), xml);
    await virsh("define", join(dir, "domain.xml"));
    await virsh("start", name);
    let address = "";
    while (!address && Date.now() < deadline) {
      const out = await virsh("domifaddr", name, "--source", "lease").catch(() => "");
      address = /ipv4\s+(\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1] ?? "";
      if (!address) await sleep(1000);
    }
    if (!address) throw new Error(`${name}: no lease before the deadline`);
    const addressAt = Date.now();
    if (!(await sshUntil(testbed, { ...login, address }, deadline)))
      throw new Error(`${name}: no SSH login before the deadline`);
    const sshAt = Date.now();
    const qemuAt = qemuStartedAt(
      readFileSync(join(testbed.dir, "log", "qemu", `${name}.log`), "utf8"),
    );
    return {
      toQemuStartMs: qemuAt - started,
      toAddressMs: addressAt - started,
      toSshMs: sshAt - started,
    };
  } finally {
    await virsh("destroy", name).catch(() => undefined);
    await virsh("undefine", name).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
