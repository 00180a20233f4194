import { requiredFrom, testbedEnv } from "./bring-up.js";

/** What the libvirt test bed (tools/testbed/libvirt) says about itself. */
export interface LibvirtTestbed {
  /** libvirtd's URI, local to this machine. */
  uri: string;
  /** The test bed's directory. */
  dir: string;
  /** The NAT network (with DHCP) domains attach to. */
  network: string;
  /** The test bed's default storage pool's directory. */
  poolDir: string;
  sshHost: string;
  sshPort: number;
  /** The sshd port whose sessions run in libvirtd's namespaces, where guests and their VNC are. */
  namespaceSshPort: number;
  sshUser: string;
  sshKeyFile: string;
  knownHosts: string;
  /** A known_hosts file that pins another key for the bed's sshd: a host-key refusal's test. */
  wrongKnownHosts: string;
}

/** The libvirt test bed's settings, read with `get`. */
export function libvirtTestbedFrom(get: (name: string) => string): LibvirtTestbed {
  return {
    uri: get("VIRTRIGAUD_LIBVIRT_URI"),
    dir: get("VIRTRIGAUD_LIBVIRT_DIR"),
    network: get("VIRTRIGAUD_LIBVIRT_NETWORK"),
    poolDir: get("VIRTRIGAUD_LIBVIRT_POOL_DIR"),
    sshHost: get("VIRTRIGAUD_LIBVIRT_SSH_HOST"),
    sshPort: Number(get("VIRTRIGAUD_LIBVIRT_SSH_PORT")),
    namespaceSshPort: Number(get("VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT")),
    sshUser: get("VIRTRIGAUD_LIBVIRT_SSH_USER"),
    sshKeyFile: get("VIRTRIGAUD_LIBVIRT_SSH_KEY"),
    knownHosts: get("VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS"),
    wrongKnownHosts: get("VIRTRIGAUD_LIBVIRT_SSH_WRONG_KNOWN_HOSTS"),
  };
}

/**
 * The libvirt test bed: from the environment when it is set, else brought
 * up with tools/testbed/up.sh libvirt (under $VIRTRIGAUD_TESTBED).
 *
 * @throws Error when the test bed cannot start.
 */
export function libvirtTestbed(): LibvirtTestbed {
  const env = testbedEnv(["libvirt"], (e) => Boolean(e["VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT"]));
  return libvirtTestbedFrom(requiredFrom(env));
}

/** How provider-libvirt reaches the test bed's host. */
export interface HostFlagOptions {
  /**
   * Connect to the sshd whose sessions run in libvirtd's namespaces: needed
   * to reach a guest's VNC display or a guest's address. Default false.
   */
  namespace?: boolean;
}

/**
 * provider-libvirt's flags that point it at the test bed's host: SSH (host,
 * port, user, key, pinned host key) and the libvirt URI. A caller adds its
 * own listen addresses, storage pool and the like.
 */
export function libvirtHostFlags(bed: LibvirtTestbed, options: HostFlagOptions = {}): string[] {
  const port = options.namespace ? bed.namespaceSshPort : bed.sshPort;
  return [
    ...["--ssh-host", bed.sshHost, "--ssh-port", String(port), "--ssh-user", bed.sshUser],
    ...["--ssh-key", bed.sshKeyFile, "--ssh-known-hosts", bed.knownHosts],
    ...["--libvirt-uri", bed.uri],
  ];
}
