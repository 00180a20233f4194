import type { Meter } from "@opentelemetry/api";
import type { Clock, Logger } from "@virtrigaud/contracts";
import type { LibvirtHost } from "./host/libvirt-host.js";

/** Options of `createLibvirtProvider`. */
export interface LibvirtProviderOptions {
  /** The host: virsh batches, commands and files (see createLibvirtHost). */
  host: LibvirtHost;
  /** The storage pool for disks, seeds and images. Default: "default". */
  storagePool?: string;
  /**
   * Create the storage pool as a dir pool at this path when it does not
   * exist. Default: none (a missing pool is an error).
   */
  createPoolDir?: string;
  /** The network a Create without NICs gets one NIC on. Default: none (no NIC). */
  defaultNetwork?: string;
  /** Address VNC consoles listen on; undefined means no console. Default: 127.0.0.1. */
  vncListen?: string | undefined;
  /** Host name put in console URLs when VNC listens on every address. Default: the host's name. */
  consoleHost?: string;
  /**
   * Maximum vcpus and memory are this many times the requested ones, so a
   * running VM can grow to them without a power cycle. 1 turns live growth
   * off. Default: 2.
   */
  headroom?: number;
  /** kvm, qemu (TCG), or auto: kvm where the host CPU has vmx or svm and libvirt offers kvm. Default: auto. */
  domainType?: "auto" | "kvm" | "qemu";
  /** How long a SHUTDOWN waits for the guest when the request gives no timeout. Default: 300 s. */
  defaultShutdownTimeoutSeconds?: number;
  /** Names of domains made elsewhere that the provider may manage. Default: none. */
  adopt?: readonly string[];
  /**
   * Collection of the files of operations that died with their provider
   * process (see src/orphans): a sweep at start, then every `intervalMs`
   * (default: half the grace, within 1 s and 5 min); nothing younger than
   * `graceMs` (default 15 min) is removed. `false` turns it off.
   */
  orphans?: { graceMs?: number; intervalMs?: number } | false;
  /** Where the provider's own instruments go (runProvider's meter, served on /metrics). */
  meter?: Meter;
  clock?: Clock;
  logger?: Logger;
}
