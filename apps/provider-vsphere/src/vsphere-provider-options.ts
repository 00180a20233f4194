import type { BackendLimiterOptions, Clock, Logger, Provider } from "@virtrigaud/contracts";
import type { VimClient } from "@virtrigaud/vsphere-sdk";
import type { PlacementDefaults } from "./placement.js";
import type { VcenterCredentials } from "./vcenter-credentials.js";

/** Options of `createVsphereProvider`. */
export interface VsphereProviderOptions {
  /** The vim25 client; the provider closes it on `close()`. */
  client: VimClient;
  /**
   * The credentials the client logs in with (its username and password
   * functions read them). Given, the provider implements SetCredentials:
   * new credentials drop the session, so the next call logs in with them.
   * Default: none; SetCredentials answers UNSUPPORTED.
   */
  credentials?: VcenterCredentials;
  /** The datacenter, by inventory path or name. Default: the only one. */
  datacenter?: string | undefined;
  /** Placement for requests that leave fields empty. */
  defaults?: PlacementDefaults;
  /**
   * Enable CPU and memory hot add on the VMs the provider creates, so CPU
   * and memory grow without a power cycle (declared as online_reconfigure).
   * Default: true. vSphere turns vNUMA off for VMs with CPU hot add.
   */
  hotAdd?: boolean;
  /** How long a SHUTDOWN waits for the guest by default, in seconds. Default: 300. */
  shutdownTimeoutSeconds?: number;
  /** host[:port] of vCenter in console URLs. Default: the client URL's. */
  consoleHost?: string;
  /**
   * Where disk imports stage the chunks they receive (a sparse file each)
   * and exports and imports keep their records; a persistent directory lets
   * transfers resume after the provider restarts. Default: under the OS's
   * temporary directory.
   */
  diskStagingDir?: string;
  /** Limits toward vCenter. Default: 8 calls in flight. */
  limits?: BackendLimiterOptions;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: silent. */
  logger?: Logger;
}

/** The provider, plus `close` to stop its tasks and log out of vCenter. */
export type VsphereProvider = Provider & { close(): Promise<void> };
