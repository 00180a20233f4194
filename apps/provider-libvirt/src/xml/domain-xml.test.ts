import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { DomainSpec } from "./domain-spec.js";
import { buildDomainXml } from "./domain-xml.js";
import { parseDomainXml } from "./parse-domain.js";

const run = promisify(execFile);

function spec(overrides: Partial<DomainSpec> = {}): DomainSpec {
  return {
    uuid: "5b6f1c1e-6c1b-4d8e-9c39-0d1f1f5e2a11",
    name: "web-1",
    type: "qemu",
    vcpus: 2,
    maxVcpus: 4,
    memoryMib: 512,
    maxMemoryMib: 1024,
    firmware: "bios",
    disks: [
      {
        name: "root",
        path: "/pool/web-1-root.qcow2",
        format: "qcow2",
        device: "disk",
        target: "vda",
        bus: "virtio",
      },
      {
        name: "data",
        path: "/pool/web-1-data.qcow2",
        format: "qcow2",
        device: "disk",
        target: "vdb",
        bus: "virtio",
      },
      {
        name: "cidata",
        path: "/pool/web-1-cidata.iso",
        format: "raw",
        device: "cdrom",
        target: "sda",
        bus: "scsi",
      },
    ],
    nics: [
      { kind: "network", source: "default", model: "virtio", mac: "52:54:00:aa:bb:01" },
      { kind: "bridge", source: "br0", model: "e1000e", mac: "52:54:00:aa:bb:02" },
    ],
    vncListen: "127.0.0.1",
    owner: {
      origin: "created",
      createdAt: 1_700_000_000_000,
      disks: { vdb: "data" },
      labels: { team: "infra" },
      tags: ["prod"],
      image: "debian-12",
      linkedTo: "",
      memoryMib: 512,
      staticAddresses: {},
    },
    ...overrides,
  };
}

const hostile = [
  "<b>bold</b>",
  "a & b",
  `quote"s and 'apostrophes'`,
  "]]>",
  "new\nline",
  "ünïcødé 雪 🚀",
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vrtg-xml-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Validates against libvirt's own schema (virt-xml-validate, from libvirt-clients). */
async function validate(xml: string): Promise<void> {
  const file = join(dir, "domain.xml");
  await writeFile(file, xml);
  await run("virt-xml-validate", [file, "domain"]);
}

describe("buildDomainXml", () => {
  it("builds a domain libvirt's schema accepts, and reads back what it holds", async () => {
    const xml = buildDomainXml(spec());
    await validate(xml);
    const info = parseDomainXml(xml);
    expect(info).toMatchObject({
      uuid: spec().uuid,
      name: "web-1",
      type: "qemu",
      vcpus: 2,
      maxVcpus: 4,
      memoryMib: 512,
      maxMemoryMib: 1024,
      firmware: "bios",
      hasVnc: true,
    });
    expect(info.disks.map((d) => [d.target, d.bus, d.device, d.format, d.path])).toEqual([
      ["vda", "virtio", "disk", "qcow2", "/pool/web-1-root.qcow2"],
      ["vdb", "virtio", "disk", "qcow2", "/pool/web-1-data.qcow2"],
      ["sda", "scsi", "cdrom", "raw", "/pool/web-1-cidata.iso"],
    ]);
    expect(info.nics).toEqual([
      { type: "network", source: "default", model: "virtio", mac: "52:54:00:aa:bb:01" },
      { type: "bridge", source: "br0", model: "e1000e", mac: "52:54:00:aa:bb:02" },
    ]);
    expect(info.owner).toEqual(spec().owner);
    expect(xml).toContain("org.qemu.guest_agent.0");
    expect(xml).toContain('<serial type="pty">');
    // The seed's CD-ROM on virtio-scsi: cloud kernels have no SATA (AHCI) driver.
    expect(xml).toMatch(
      /<controller type="scsi" index="0" model="virtio-scsi">\s*<driver queues="2"\/>\s*<\/controller>/,
    );
    // Queues pinned to the vCPUs at create, not to those QEMU starts with (see snapshots.ts).
    expect(
      xml.match(/<driver name="qemu" type="qcow2" discard="unmap" queues="2"\/>/g),
    ).toHaveLength(2);
    expect(xml).not.toContain("sata");
  });

  it("adds no SCSI controller when no disk sits on SCSI", () => {
    const xml = buildDomainXml(spec({ disks: spec().disks.slice(0, 2) }));
    expect(xml).not.toContain("<controller");
  });

  it("asks libvirt for UEFI firmware without secure boot, and kvm with the host CPU", async () => {
    const xml = buildDomainXml(spec({ firmware: "uefi", type: "kvm" }));
    await validate(xml);
    expect(xml).toContain('<os firmware="efi">');
    expect(xml).toContain('<feature enabled="no" name="secure-boot"/>');
    expect(xml).toContain('<cpu mode="host-passthrough"/>');
    expect(parseDomainXml(xml).firmware).toBe("uefi");
  });

  it("leaves VNC out when no console is configured", () => {
    const info = parseDomainXml(buildDomainXml(spec({ vncListen: undefined })));
    expect(info.hasVnc).toBe(false);
  });

  it.each(hostile)("escapes the hostile value %j everywhere it can appear", (value) => {
    const owner = {
      ...spec().owner,
      labels: { [value]: value },
      tags: [value],
      image: value,
      disks: { vdb: value },
    };
    const xml = buildDomainXml(
      spec({
        name: value,
        owner,
        disks: [{ ...spec().disks[0]!, path: `/pool/${value}.qcow2` }],
        nics: [{ ...spec().nics[0]!, source: value }],
      }),
    );
    const info = parseDomainXml(xml);
    expect(info.name).toBe(value);
    expect(info.owner).toEqual(owner);
    expect(info.disks[0]?.path).toBe(`/pool/${value}.qcow2`);
    expect(info.nics[0]?.source).toBe(value);
    // Exactly one domain element with one name: nothing was injected.
    expect(xml.match(/<name>/g)).toHaveLength(1);
    expect(xml.match(/<disk /g)).toHaveLength(1);
  });

  it("hands a hostile name through libvirt itself unchanged", async () => {
    // The test driver parses the document as libvirtd would, in one connection.
    const name = `x<y>&"z'` + "]]> ü";
    const file = join(dir, "hostile.xml");
    await writeFile(file, buildDomainXml(spec({ name, disks: [], nics: [] })));
    const { stdout } = await run("virsh", [
      "-q",
      "-c",
      "test:///default",
      `define --file '${file}' ; dumpxml --domain '${spec().uuid}'`,
    ]);
    const dumped = stdout.slice(stdout.indexOf("<domain"));
    expect(parseDomainXml(dumped).name).toBe(name);
  });

  it("refuses a value XML cannot carry", () => {
    expect(() => buildDomainXml(spec({ name: "bell\u0007" }))).toThrow(TypeError);
  });
});
