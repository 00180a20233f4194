import { XMLParser } from "fast-xml-parser";
import { type OwnerRecord, metadataNamespace } from "./domain-spec.js";

/** A disk as a domain's XML describes it. */
interface DomainDisk {
  device: string;
  target: string;
  bus: string;
  /** The file or volume path; empty for an empty cdrom. */
  path: string;
  format: string;
  /** The backing chain below `path`, nearest first. */
  backing: string[];
}

/** A NIC as a domain's XML describes it. */
interface DomainNic {
  type: string;
  /** The network or bridge name. */
  source: string;
  model: string;
  mac: string;
}

/** What the provider reads from a domain's XML. */
export interface DomainInfo {
  uuid: string;
  name: string;
  type: string;
  vcpus: number;
  maxVcpus: number;
  memoryMib: number;
  maxMemoryMib: number;
  firmware: "bios" | "uefi";
  disks: DomainDisk[];
  nics: DomainNic[];
  /** The VNC port while the domain runs (live XML), with its listen address. */
  vnc: { port: number; listen: string } | undefined;
  /** True when the domain defines VNC graphics at all. */
  hasVnc: boolean;
  /** True when the guest agent's channel is connected (live XML). */
  agentConnected: boolean;
  /** The provider's metadata, or undefined for a domain it did not create. */
  owner: OwnerRecord | undefined;
}

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
export function parseXml(xml: string): Node {
  return parser.parse(xml) as Node;
}

const obj = (v: unknown): Node =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Node) : {};
const items = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const list = (v: unknown): Node[] => items(v).map(obj);
/** The text of an element, whether it has attributes or not. */
export function text(v: unknown): string {
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
 * Reads a domain's XML (`virsh dumpxml`), live or inactive.
 *
 * @throws Error when the document is not a domain.
 */
export function parseDomainXml(xml: string): DomainInfo {
  const domain = obj(parseXml(xml)["domain"]);
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
