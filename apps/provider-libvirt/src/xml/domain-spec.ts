/** Where the provider keeps its own facts in a domain's `<metadata>`. */
export const metadataNamespace = "https://virtrigaud.io/xmlns/libvirt-provider/v1";
/** The prefix of the metadata element (`<vrtg:instance>`). */
export const metadataPrefix = "vrtg";

/** A disk of a domain as the provider builds it. */
export interface DiskDevice {
  /** The provider's name of the disk: "root", a data disk's name, or "cidata" for the seed. */
  name: string;
  /** Path of the volume on the host. */
  path: string;
  format: "qcow2" | "raw";
  device: "disk" | "cdrom";
  /** Target device, for example vda or sda. */
  target: string;
  /**
   * virtio for disks; scsi (on a virtio-scsi controller) for the seed's
   * CD-ROM. Never sata or ide: cloud kernels (Debian's among them) carry no
   * AHCI driver, so a seed there is invisible and cloud-init does nothing.
   */
  bus: "virtio" | "scsi";
}

/** A NIC of a domain as the provider builds it. */
export interface NicDevice {
  kind: "network" | "bridge";
  /** The libvirt network or the host bridge. */
  source: string;
  model: "virtio" | "e1000" | "e1000e" | "vmxnet3" | "rtl8139";
  mac: string;
}

/** What the provider records about a domain it owns, in its metadata. */
export interface OwnerRecord {
  /** "created" by this provider, or "adopted" (made elsewhere, then managed). */
  origin: "created" | "adopted";
  /** When the provider created it, ms since the epoch. */
  createdAt: number;
  /** The disk names by target device, for disks other than root. */
  disks: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  tags: readonly string[];
  /** The image the root disk came from, for people. */
  image: string;
  /** For a linked clone: the UUID of the VM it shares a base with. */
  linkedTo: string;
  /**
   * The memory asked for, in MiB. libvirt reports a running domain's memory
   * as the balloon has it, which stays at the maximum in a guest without a
   * balloon driver; the provider reports the target it set. 0 when unknown.
   */
  memoryMib: number;
  /** Static addresses given at create, by MAC. */
  staticAddresses: Readonly<Record<string, string>>;
}

/** Everything a domain definition holds, from a Create or a Clone. */
export interface DomainSpec {
  uuid: string;
  name: string;
  /** kvm where the host can, qemu (TCG) otherwise. */
  type: "kvm" | "qemu";
  vcpus: number;
  /** Maximum vcpus, for live changes up to it. At least `vcpus`. */
  maxVcpus: number;
  memoryMib: number;
  /** Maximum memory, for live changes (balloon) up to it. At least `memoryMib`. */
  maxMemoryMib: number;
  firmware: "bios" | "uefi";
  disks: readonly DiskDevice[];
  nics: readonly NicDevice[];
  /** VNC console listening on this address; undefined means no console. */
  vncListen: string | undefined;
  owner: OwnerRecord;
}
