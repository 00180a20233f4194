import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "@jest/globals";
import { XMLParser } from "fast-xml-parser";
import { type OwnerRecord, metadataNamespace } from "./domain-spec.js";
import { buildDomainXml } from "./domain-xml.js";
import { type DomainInfo, parseDomainXml } from "./parse-domain.js";

const run = promisify(execFile);

// The fast-xml-parser reader parseDomainXml replaced, as the oracle it must match.
type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // libvirt writes line breaks in attributes as numeric references.
  htmlEntities: true,
  isArray: (name) =>
    [
      "disk",
      "interface",
      "graphics",
      "channel",
      "backingStore",
      "vrtg:disk",
      "vrtg:label",
      "vrtg:tag",
      "vrtg:static-address",
    ].includes(name),
});

/** Parses XML into plain objects (attributes as `@name`, text as `#text`). */
function parseXmlBefore(xml: string): Node {
  return parser.parse(xml) as Node;
}

const obj = (v: unknown): Node =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Node) : {};
const items = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const list = (v: unknown): Node[] => items(v).map(obj);
/** The text of an element, whether it has attributes or not. */
function text(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  const t = obj(v)["#text"];
  return typeof t === "string" || typeof t === "number" ? String(t) : "";
}
const attr = (v: unknown, name: string): string => {
  const a = obj(v)[`@${name}`];
  return typeof a === "string" || typeof a === "number" ? String(a) : "";
};

function toMib(v: unknown): number {
  const value = Number(text(v));
  const unit = (attr(v, "unit") || "KiB").toLowerCase();
  const factor: Record<string, number> = {
    b: 1 / 1048576,
    bytes: 1 / 1048576,
    k: 1 / 1024,
    kib: 1 / 1024,
    kb: 1000 / 1048576,
    m: 1,
    mib: 1,
    mb: 1e6 / 1048576,
    g: 1024,
    gib: 1024,
    gb: 1e9 / 1048576,
  };
  return Math.round(value * (factor[unit] ?? 1 / 1024));
}

function backingChain(disk: Node): string[] {
  const chain: string[] = [];
  let node = list(disk["backingStore"])[0];
  while (node && Object.keys(node).length) {
    const source = obj(node["source"]);
    const path = attr(source, "file") || attr(source, "dev");
    if (!path) break;
    chain.push(path);
    node = list(node["backingStore"])[0];
  }
  return chain;
}

/** Finds the provider's metadata element whatever prefix libvirt gave it. */
function ownerNode(metadata: Node): Node | undefined {
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.endsWith(":instance") && key !== "instance") continue;
    const node = obj(value);
    const prefix = key.includes(":") ? key.slice(0, key.indexOf(":")) : "";
    if (node[prefix ? `@xmlns:${prefix}` : "@xmlns"] === metadataNamespace) return node;
  }
  return undefined;
}

function parseOwner(node: Node): OwnerRecord {
  const child = (name: string) => {
    for (const [key, value] of Object.entries(node)) {
      if (key === name || key.endsWith(`:${name}`)) return value;
    }
    return undefined;
  };
  const disks: Record<string, string> = {};
  for (const d of list(child("disk"))) disks[attr(d, "target")] = attr(d, "name");
  const labels: Record<string, string> = {};
  for (const l of items(child("label"))) labels[attr(l, "key")] = text(l);
  const staticAddresses: Record<string, string> = {};
  for (const s of list(child("static-address")))
    staticAddresses[attr(s, "mac")] = attr(s, "address");
  return {
    origin: attr(node, "origin") === "adopted" ? "adopted" : "created",
    createdAt: Number(attr(node, "created")) || 0,
    memoryMib: Number(attr(node, "memory")) || 0,
    disks,
    labels,
    tags: items(child("tag")).map(text),
    image: text(child("image")),
    linkedTo: attr(child("linked-to"), "vm"),
    staticAddresses,
  };
}

/**
 * (The reader before saxes.) Reads a domain's XML (`virsh dumpxml`), live or inactive.
 *
 * @throws Error when the document is not a domain.
 */
function parseDomainXmlBefore(xml: string): DomainInfo {
  const domain = obj(parseXmlBefore(xml)["domain"]);
  if (!Object.keys(domain).length) throw new Error("not a domain document");
  const devices = obj(domain["devices"]);
  const os = obj(domain["os"]);
  const vcpu = domain["vcpu"];
  const maxVcpus = Number(text(vcpu)) || 1;
  const graphics = list(devices["graphics"]).find((g) => attr(g, "type") === "vnc");
  const vncPort = graphics ? Number(attr(graphics, "port")) : -1;
  const agent = list(devices["channel"]).find(
    (c) => attr(c["target"], "name") === "org.qemu.guest_agent.0",
  );
  const loader = attr(os["loader"], "type");
  const owner = ownerNode(obj(domain["metadata"]));
  return {
    uuid: text(domain["uuid"]),
    name: text(domain["name"]),
    type: attr(domain, "type"),
    vcpus: Number(attr(vcpu, "current")) || maxVcpus,
    maxVcpus,
    memoryMib: toMib(domain["currentMemory"] ?? domain["memory"]),
    maxMemoryMib: toMib(domain["memory"]),
    firmware: attr(os, "firmware") === "efi" || loader === "pflash" ? "uefi" : "bios",
    disks: list(devices["disk"]).map((d) => {
      const source = obj(d["source"]);
      return {
        device: attr(d, "device") || "disk",
        target: attr(d["target"], "dev"),
        bus: attr(d["target"], "bus"),
        path: attr(source, "file") || attr(source, "dev") || attr(source, "volume"),
        format: attr(d["driver"], "type"),
        backing: backingChain(d),
      };
    }),
    nics: list(devices["interface"]).map((n) => {
      const source = obj(n["source"]);
      return {
        type: attr(n, "type"),
        source: attr(source, "network") || attr(source, "bridge") || attr(source, "dev"),
        model: attr(n["model"], "type"),
        mac: attr(n["mac"], "address").toLowerCase(),
      };
    }),
    vnc:
      graphics && vncPort > 0
        ? { port: vncPort, listen: attr(graphics, "listen") || "127.0.0.1" }
        : undefined,
    hasVnc: graphics !== undefined,
    agentConnected: attr(agent?.["target"], "state") === "connected",
    owner: owner ? parseOwner(owner) : undefined,
  };
}

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

const documents: Array<[string, string]> = [
  ["one the provider builds", built],
  ["a live one libvirt wrote", live],
  [
    "an inactive one without metadata",
    live.replace(/<metadata>[\s\S]*<\/metadata>/, "").replace(/ port='5900'/, " port='-1'"),
  ],
  [
    "one with memory in bytes and no current vcpus",
    live.replace(
      "<memory unit='GiB'>2</memory>",
      "<memory unit='b'>1073741824</memory><currentMemory>524288</currentMemory>",
    ),
  ],
  ["one without devices", `<domain type="kvm"><name>bare</name><uuid>${uuid}</uuid></domain>`],
];

describe("parseDomainXml on saxes", () => {
  it.each(documents)("reads %s exactly as the fast-xml-parser reader did", (_, xml) => {
    expect(parseDomainXml(xml)).toEqual(parseDomainXmlBefore(xml));
  });

  it("reads documents the real libvirtd wrote exactly as before", async () => {
    // libvirt's test driver formats its default domain as libvirtd does.
    const { stdout } = await run("virsh", [
      "-q",
      "-c",
      "test:///default",
      "dumpxml",
      "--domain",
      "test",
    ]);
    expect(parseDomainXml(stdout)).toEqual(parseDomainXmlBefore(stdout));
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
