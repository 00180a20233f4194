import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** What the libvirt and guest test beds say about themselves. */
export interface GuestTestbed {
  uri: string;
  dir: string;
  /** The NAT network (with DHCP) the guests attach to. */
  network: string;
  sshHost: string;
  sshPort: string;
  /** The sshd port whose sessions run in libvirtd's network namespace, where the guests are. */
  namespaceSshPort: string;
  sshUser: string;
  sshKeyFile: string;
  knownHosts: string;
  /** The cached Debian guest image (tools/guest-image). */
  image: string;
}

/**
 * The libvirt test bed's settings and the guest image: from the environment
 * when tools/test.sh (or a shell that sourced the env files) set them, else
 * from the env files tools/testbed/up.sh writes after bringing the test beds
 * up (the guest one builds the image the first time, which takes minutes).
 *
 * @throws Error when a test bed cannot start.
 */
export function guestTestbed(): GuestTestbed {
  let env: Record<string, string | undefined> = process.env;
  if (!env["VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT"] || !env["VIRTRIGAUD_GUEST_IMAGE"]) {
    const testbed = process.env["VIRTRIGAUD_TESTBED"] ?? join(repoRoot, ".testbed");
    execFileSync(join(repoRoot, "tools/testbed/up.sh"), ["libvirt", "guest"], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, VIRTRIGAUD_TESTBED: testbed },
    });
    env = {
      ...readEnvFile(join(testbed, "libvirt.env")),
      ...readEnvFile(join(testbed, "guest.env")),
    };
  }
  const get = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`the test beds set no ${name}`);
    return value;
  };
  return {
    uri: get("VIRTRIGAUD_LIBVIRT_URI"),
    dir: get("VIRTRIGAUD_LIBVIRT_DIR"),
    network: get("VIRTRIGAUD_LIBVIRT_NETWORK"),
    sshHost: get("VIRTRIGAUD_LIBVIRT_SSH_HOST"),
    sshPort: get("VIRTRIGAUD_LIBVIRT_SSH_PORT"),
    namespaceSshPort: get("VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT"),
    sshUser: get("VIRTRIGAUD_LIBVIRT_SSH_USER"),
    sshKeyFile: get("VIRTRIGAUD_LIBVIRT_SSH_KEY"),
    knownHosts: get("VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS"),
    image: get("VIRTRIGAUD_GUEST_IMAGE"),
  };
}

/** The variables of an env file lib.sh's write_env wrote (`export NAME=VALUE`, quoted by printf %q). */
function readEnvFile(file: string): Record<string, string> {
  // bash reads what bash quoted: it sources the file and prints the variables NUL-separated.
  const out = execFileSync("bash", ["-c", '. "$1"; env -0 | grep -z "^VIRTRIGAUD_"', "_", file], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const env: Record<string, string> = {};
  for (const entry of out.split("\0")) {
    const at = entry.indexOf("=");
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}
