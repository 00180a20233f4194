import {
  type DiskDevice,
  type DomainSpec,
  type NicDevice,
  type OwnerRecord,
  metadataNamespace,
  metadataPrefix,
} from "./domain-spec.js";
import { type XmlElement, el, renderXml, renderXmlLine } from "./xml-builder.js";

const p = (name: string) => `${metadataPrefix}:${name}`;

/** The provider's metadata element (`<vrtg:instance>`), in its own namespace. */
function ownerElement(owner: OwnerRecord, declareNamespace = true): XmlElement {
  return el(
    p("instance"),
    {
      [`xmlns:${metadataPrefix}`]: declareNamespace ? metadataNamespace : undefined,
      origin: owner.origin,
      created: owner.createdAt,
      memory: owner.memoryMib || undefined,
    },
    owner.image ? el(p("image"), {}, owner.image) : undefined,
    owner.linkedTo ? el(p("linked-to"), { vm: owner.linkedTo }) : undefined,
    Object.entries(owner.disks).map(([target, name]) => el(p("disk"), { target, name })),
    Object.entries(owner.labels).map(([key, value]) => el(p("label"), { key }, value)),
    owner.tags.map((tag) => el(p("tag"), {}, tag)),
    Object.entries(owner.staticAddresses).map(([mac, address]) =>
      el(p("static-address"), { mac, address }),
    ),
  );
}

/**
 * The `<vrtg:instance>` element alone on one line, as `virsh metadata --set`
 * takes it: libvirt declares the namespace itself (from --uri and --key).
 */
export function renderOwnerXml(owner: OwnerRecord): string {
  return renderXmlLine(ownerElement(owner, false));
}

/**
 * QEMU gives a virtio disk or SCSI controller one queue per vCPU it starts
 * with unless told: pinned, a memory snapshot still loads after vCPUs were
 * added live (see pinHotpluggedVcpus in snapshots.ts).
 */
function diskElement(disk: DiskDevice, queues: number): XmlElement {
  return el(
    "disk",
    { type: "file", device: disk.device },
    el("driver", {
      name: "qemu",
      type: disk.format,
      ...(disk.device === "disk" ? { discard: "unmap" } : {}),
      ...(disk.bus === "virtio" ? { queues } : {}),
    }),
    el("source", { file: disk.path }),
    el("target", { dev: disk.target, bus: disk.bus }),
    disk.device === "cdrom" ? el("readonly") : undefined,
  );
}

function nicElement(nic: NicDevice): XmlElement {
  return el(
    "interface",
    { type: nic.kind },
    el("source", nic.kind === "network" ? { network: nic.source } : { bridge: nic.source }),
    el("mac", { address: nic.mac }),
    el("model", { type: nic.model }),
  );
}

/**
 * The domain XML of a spec: kvm or qemu, BIOS or UEFI (firmware chosen by
 * libvirt, secure boot off), headroom for live CPU and memory changes, virtio
 * disks and NICs, the seed's CD-ROM on virtio-scsi, a serial console, the qemu-guest-agent channel, VNC when
 * asked, and the provider's metadata. Every value is escaped (see xml-builder.ts).
 *
 * @throws TypeError for a value XML cannot carry.
 */
export function buildDomainXml(spec: DomainSpec): string {
  const machine = el(
    "os",
    spec.firmware === "uefi" ? { firmware: "efi" } : {},
    el("type", { arch: "x86_64", machine: "q35" }, "hvm"),
    spec.firmware === "uefi"
      ? el("firmware", {}, el("feature", { enabled: "no", name: "secure-boot" }))
      : undefined,
    el("boot", { dev: "hd" }),
  );
  const domain = el(
    "domain",
    { type: spec.type },
    el("name", {}, spec.name),
    el("uuid", {}, spec.uuid),
    el("metadata", {}, ownerElement(spec.owner)),
    el("memory", { unit: "MiB" }, String(spec.maxMemoryMib)),
    el("currentMemory", { unit: "MiB" }, String(spec.memoryMib)),
    el("vcpu", { placement: "static", current: spec.vcpus }, String(spec.maxVcpus)),
    machine,
    el("features", {}, el("acpi"), el("apic")),
    spec.type === "kvm" ? el("cpu", { mode: "host-passthrough" }) : undefined,
    el("clock", { offset: "utc" }),
    el("on_poweroff", {}, "destroy"),
    el("on_reboot", {}, "restart"),
    el("on_crash", {}, "destroy"),
    el(
      "devices",
      {},
      spec.disks.map((d) => diskElement(d, spec.vcpus)),
      // The seed's CD-ROM sits on virtio-scsi, which every virtio guest kernel has.
      spec.disks.some((d) => d.bus === "scsi")
        ? el(
            "controller",
            { type: "scsi", index: 0, model: "virtio-scsi" },
            el("driver", { queues: spec.vcpus }),
          )
        : undefined,
      spec.nics.map(nicElement),
      el("serial", { type: "pty" }, el("target", { port: 0 })),
      el("console", { type: "pty" }, el("target", { type: "serial", port: 0 })),
      el(
        "channel",
        { type: "unix" },
        el("target", { type: "virtio", name: "org.qemu.guest_agent.0" }),
      ),
      spec.vncListen !== undefined
        ? el(
            "graphics",
            { type: "vnc", port: -1, autoport: "yes", listen: spec.vncListen },
            el("listen", { type: "address", address: spec.vncListen }),
          )
        : undefined,
      spec.vncListen !== undefined ? el("video", {}, el("model", { type: "vga" })) : undefined,
      el("memballoon", { model: "virtio" }),
      el("rng", { model: "virtio" }, el("backend", { model: "random" }, "/dev/urandom")),
    ),
  );
  return `${renderXml(domain)}\n`;
}
