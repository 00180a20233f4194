import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "@jest/globals";
import { type OwnerRecord, metadataNamespace } from "./domain-spec.js";
import { buildDomainXml } from "./domain-xml.js";
import { type DomainInfo, parseDomainXml } from "./parse-domain.js";

const run = promisify(execFile);

const uuid = "5b6f1c1e-6c1b-4d8e-9c39-0d1f1f5e2a11";
const owner: OwnerRecord = {
  origin: "created",
  createdAt: 1_700_000_000_000,
  disks: { vdb: "data" },
  labels: {
    team: "infra",
    "a & b": `quote"s 'x' <b> ]]>`,
    empty: "",
    spaced: "  two  ",
    nl: "one\ntwo",
  },
  tags: ["prod", "ünïcødé 雪 🚀", " "],
  image: "debian-12",
  linkedTo: "0b6f1c1e-6c1b-4d8e-9c39-0d1f1f5e2a11",
  memoryMib: 512,
  staticAddresses: { "52:54:00:aa:bb:01": "10.0.0.5" },
};
const built = buildDomainXml({
  uuid,
  name: "web-1",
  type: "kvm",
  vcpus: 2,
  maxVcpus: 4,
  memoryMib: 512,
  maxMemoryMib: 1024,
  firmware: "uefi",
  disks: [
    {
      name: "root",
      path: "/pool/r.qcow2",
      format: "qcow2",
      device: "disk",
      target: "vda",
      bus: "virtio",
    },
    {
      name: "data",
      path: "/pool/d.raw",
      format: "raw",
      device: "disk",
      target: "vdb",
      bus: "virtio",
    },
    {
      name: "cidata",
      path: "/pool/c.iso",
      format: "raw",
      device: "cdrom",
      target: "sda",
      bus: "scsi",
    },
  ],
  nics: [
    { kind: "network", source: "default", model: "virtio", mac: "52:54:00:AA:bb:01" },
    { kind: "bridge", source: "br0", model: "e1000e", mac: "52:54:00:aa:bb:02" },
  ],
  vncListen: "0.0.0.0",
  owner,
});

/** A live document as libvirt writes it: ports, agent state, a backing chain, libvirt's own quoting. */
const live = `<domain type='qemu' id='7'>
  <name>live &amp; well</name>
  <uuid>${uuid}</uuid>
  <metadata>
    <other:thing xmlns:other="https://example.com/other"><other:label key="x">not ours</other:label></other:thing>
    <v:instance xmlns:v="${metadataNamespace}" origin="adopted" created="12" memory="abc">
      <v:label key="multi">line&#10;break</v:label>
      <v:label key="cdata"><![CDATA[<raw> & ]]></v:label>
      <!-- a comment -->
      <v:tag>t1</v:tag><v:tag/>
      <v:disk target="vdc" name="logs"/>
      <v:linked-to vm="base-vm"/>
      <v:static-address mac="52:54:00:00:00:01" address="192.0.2.1"/>
    </v:instance>
  </metadata>
  <memory unit='GiB'>2</memory>
  <vcpu placement='static'>3</vcpu>
  <os><type arch='x86_64'>hvm</type><loader readonly='yes' type='pflash'>/x.fd</loader></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/p/top.qcow2' index='3'/>
      <backingStore type='file' index='2'>
        <format type='qcow2'/>
        <source file='/p/mid.qcow2'/>
        <backingStore type='block' index='1'>
          <source dev='/dev/base'/>
          <backingStore/>
        </backingStore>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'><source pool='p' volume='vol1'/><target dev='vdb' bus='scsi'/></disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>
    <interface type='direct'><mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='rtl8139'/></interface>
    <interface type='user'><mac address='52:54:00:00:00:02'/></interface>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>
    <graphics type='spice' port='5901'/>
    <graphics type='vnc' port='5900' autoport='yes' listen='::'><listen type='address' address='::'/></graphics>
  </devices>
</domain>
`;

describe("parseDomainXml on saxes", () => {
  it("reads a document the real libvirt wrote", async () => {
    // libvirt's test driver formats its default domain as libvirtd does.
    const { stdout } = await run("virsh", [
      "-q",
      "-c",
      "test:///default",
      "dumpxml",
      "--domain",
      "test",
    ]);
    expect(parseDomainXml(stdout)).toEqual({
      uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f",
      name: "test",
      type: "test",
      vcpus: 2,
      maxVcpus: 2,
      memoryMib: 2048,
      maxMemoryMib: 8192,
      firmware: "bios",
      disks: [
        {
          device: "disk",
          target: "vda",
          bus: "virtio",
          path: "/guest/diskimage1",
          format: "",
          backing: [],
        },
      ],
      nics: [{ type: "network", source: "default", model: "", mac: "aa:bb:cc:dd:ee:ff" }],
      vnc: undefined,
      hasVnc: false,
      agentConnected: false,
      owner: undefined,
    });
  });

  it("reads what a document leaves out as before: no metadata, memory in bytes, no devices", () => {
    const inactive = parseDomainXml(
      live
        .replace(/<metadata>[\s\S]*<\/metadata>/, "")
        .replace(" port='5900'", " port='-1'")
        .replace(
          "<memory unit='GiB'>2</memory>",
          "<memory unit='b'>1073741824</memory><currentMemory>524288</currentMemory>",
        ),
    );
    expect(inactive).toMatchObject({
      owner: undefined,
      vnc: undefined,
      hasVnc: true,
      memoryMib: 512,
      maxMemoryMib: 1024,
    });
    expect(
      parseDomainXml(`<domain type="kvm"><name>bare</name><uuid>${uuid}</uuid></domain>`),
    ).toEqual({
      uuid,
      name: "bare",
      type: "kvm",
      vcpus: 1,
      maxVcpus: 1,
      memoryMib: 0,
      maxMemoryMib: 0,
      firmware: "bios",
      disks: [],
      nics: [],
      vnc: undefined,
      hasVnc: false,
      agentConnected: false,
      owner: undefined,
    });
  });

  it("reads every field the provider's own document holds", () => {
    const info: DomainInfo = parseDomainXml(built);
    expect(info).toEqual({
      uuid,
      name: "web-1",
      type: "kvm",
      vcpus: 2,
      maxVcpus: 4,
      memoryMib: 512,
      maxMemoryMib: 1024,
      firmware: "uefi",
      disks: [
        {
          device: "disk",
          target: "vda",
          bus: "virtio",
          path: "/pool/r.qcow2",
          format: "qcow2",
          backing: [],
        },
        {
          device: "disk",
          target: "vdb",
          bus: "virtio",
          path: "/pool/d.raw",
          format: "raw",
          backing: [],
        },
        {
          device: "cdrom",
          target: "sda",
          bus: "scsi",
          path: "/pool/c.iso",
          format: "raw",
          backing: [],
        },
      ],
      nics: [
        { type: "network", source: "default", model: "virtio", mac: "52:54:00:aa:bb:01" },
        { type: "bridge", source: "br0", model: "e1000e", mac: "52:54:00:aa:bb:02" },
      ],
      vnc: undefined,
      hasVnc: true,
      agentConnected: false,
      owner,
    });
  });

  it("reads a live document's ports, agent, backing chain and metadata in any prefix", () => {
    const info = parseDomainXml(live);
    expect(info.name).toBe("live & well");
    expect(info.vnc).toEqual({ port: 5900, listen: "::" });
    expect(info.agentConnected).toBe(true);
    expect(info.firmware).toBe("uefi");
    expect(info.memoryMib).toBe(2048);
    expect(info.vcpus).toBe(3);
    expect(info.disks[0]?.backing).toEqual(["/p/mid.qcow2", "/dev/base"]);
    expect(info.disks[1]?.path).toBe("vol1");
    expect(info.nics[0]).toEqual({
      type: "direct",
      source: "eth0",
      model: "rtl8139",
      mac: "52:54:00:00:00:01",
    });
    expect(info.owner?.labels).toEqual({ multi: "line\nbreak", cdata: "<raw> & " });
    expect(info.owner?.tags).toEqual(["t1", ""]);
    expect(info.owner?.origin).toBe("adopted");
  });

  it.each([
    [
      "a document type with entities",
      `<!DOCTYPE d [<!ENTITY a "aaaa">]><domain><name>&a;</name></domain>`,
    ],
    ["an unknown entity", "<domain><name>&nbsp;</name></domain>"],
    ["an unclosed element", "<domain><name>x</domain>"],
    ["text after the root", "<domain/>junk"],
    ["no domain", "<pool/>"],
    ["nothing", ""],
  ])("refuses %s with a clear error", (_, xml) => {
    expect(() => parseDomainXml(xml)).toThrow(/malformed XML|not a domain document/);
  });

  it("reads deep nesting and huge text without recursion", () => {
    const depth = 100_000;
    const deep = `<domain><name>${"x".repeat(4_000_000)}</name><metadata>${"<a>".repeat(depth)}${"</a>".repeat(depth)}</metadata></domain>`;
    expect(parseDomainXml(deep).name).toHaveLength(4_000_000);
  });
});
