import { XMLParser } from "fast-xml-parser";
import { type OwnerRecord, metadataNamespace } from "./domain-spec.js";
import { type XmlElement, attribute, child, children, parseElementTree } from "./element-tree.js";

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
/** The text of an element, whether it has attributes or not. */
export function text(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  const t = obj(v)["#text"];
  return typeof t === "string" || typeof t === "number" ? String(t) : "";
}

const memoryUnits: Record<string, number> = {
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

function toMib(element: XmlElement | undefined): number {
  const value = Number(element?.text ?? "");
  const unit = (attribute(element, "unit") || "KiB").toLowerCase();
  return Math.round(value * (memoryUnits[unit] ?? 1 / 1024));
}

function backingChain(disk: XmlElement): string[] {
  const chain: string[] = [];
  // The chain ends at an empty <backingStore/>, which has no source.
  let node = child(disk, "backingStore");
  while (node) {
    const source = child(node, "source");
    const path = attribute(source, "file") || attribute(source, "dev");
    if (!path) break;
    chain.push(path);
    node = child(node, "backingStore");
  }
  return chain;
}

/** Finds the provider's metadata element whatever prefix libvirt gave it. */
function ownerElement(metadata: XmlElement | undefined): XmlElement | undefined {
  for (const element of metadata?.children ?? []) {
    const { name } = element;
    if (!name.endsWith(":instance") && name !== "instance") continue;
    const prefix = name.includes(":") ? name.slice(0, name.indexOf(":")) : "";
    if (attribute(element, prefix ? `xmlns:${prefix}` : "xmlns") === metadataNamespace) {
      return element;
    }
  }
  return undefined;
}

function parseOwner(owner: XmlElement): OwnerRecord {
  /** The children of the first name that is `local` in any prefix. */
  const all = (local: string) => {
    const first = owner.children.find((c) => c.name === local || c.name.endsWith(`:${local}`));
    return first ? children(owner, first.name) : [];
  };
  const disks: Record<string, string> = {};
  for (const d of all("disk")) disks[attribute(d, "target")] = attribute(d, "name");
  const labels: Record<string, string> = {};
  for (const l of all("label")) labels[attribute(l, "key")] = l.text;
  const staticAddresses: Record<string, string> = {};
  for (const s of all("static-address"))
    staticAddresses[attribute(s, "mac")] = attribute(s, "address");
  return {
    origin: attribute(owner, "origin") === "adopted" ? "adopted" : "created",
    createdAt: Number(attribute(owner, "created")) || 0,
    memoryMib: Number(attribute(owner, "memory")) || 0,
    disks,
    labels,
    tags: all("tag").map((t) => t.text),
    image: all("image")[0]?.text ?? "",
    linkedTo: attribute(all("linked-to")[0], "vm"),
    staticAddresses,
  };
}

/**
 * Reads a domain's XML (`virsh dumpxml`), live or inactive.
 *
 * @throws Error when the document is not well-formed XML or not a domain.
 */
export function parseDomainXml(xml: string): DomainInfo {
  const domain = child(parseElementTree(xml), "domain");
  if (!domain) throw new Error("not a domain document");
  return domainInfoOf(domain);
}

/**
 * Reads domain documents printed one after the other (`virsh dumpxml` of
 * several domains), as the children of one document.
 *
 * @throws Error when they are not well-formed XML.
 */
export function parseDomainXmls(xml: string): DomainInfo[] {
  return children(parseElementTree(`<domains>${xml}</domains>`).children[0], "domain").map(
    domainInfoOf,
  );
}

function domainInfoOf(domain: XmlElement): DomainInfo {
  const devices = child(domain, "devices");
  const os = child(domain, "os");
  const vcpu = child(domain, "vcpu");
  const maxVcpus = Number(vcpu?.text ?? "") || 1;
  const graphics = children(devices, "graphics").find((g) => attribute(g, "type") === "vnc");
  const vncPort = graphics ? Number(attribute(graphics, "port")) : -1;
  const agent = children(devices, "channel").find(
    (c) => attribute(child(c, "target"), "name") === "org.qemu.guest_agent.0",
  );
  const loader = attribute(child(os, "loader"), "type");
  const owner = ownerElement(child(domain, "metadata"));
  const memory = child(domain, "memory");
  return {
    uuid: child(domain, "uuid")?.text ?? "",
    name: child(domain, "name")?.text ?? "",
    type: attribute(domain, "type"),
    vcpus: Number(attribute(vcpu, "current")) || maxVcpus,
    maxVcpus,
    memoryMib: toMib(child(domain, "currentMemory") ?? memory),
    maxMemoryMib: toMib(memory),
    firmware: attribute(os, "firmware") === "efi" || loader === "pflash" ? "uefi" : "bios",
    disks: children(devices, "disk").map((d) => {
      const source = child(d, "source");
      const target = child(d, "target");
      return {
        device: attribute(d, "device") || "disk",
        target: attribute(target, "dev"),
        bus: attribute(target, "bus"),
        path: attribute(source, "file") || attribute(source, "dev") || attribute(source, "volume"),
        format: attribute(child(d, "driver"), "type"),
        backing: backingChain(d),
      };
    }),
    nics: children(devices, "interface").map((n) => {
      const source = child(n, "source");
      return {
        type: attribute(n, "type"),
        source:
          attribute(source, "network") || attribute(source, "bridge") || attribute(source, "dev"),
        model: attribute(child(n, "model"), "type"),
        mac: attribute(child(n, "mac"), "address").toLowerCase(),
      };
    }),
    vnc:
      graphics && vncPort > 0
        ? { port: vncPort, listen: attribute(graphics, "listen") || "127.0.0.1" }
        : undefined,
    hasVnc: graphics !== undefined,
    agentConnected: attribute(child(agent, "target"), "state") === "connected",
    owner: owner ? parseOwner(owner) : undefined,
  };
}
