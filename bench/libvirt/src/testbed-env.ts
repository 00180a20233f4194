import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** What the libvirt test bed says about itself (tools/testbed/libvirt). */
export interface LibvirtTestbed {
  uri: string;
  dir: string;
  /** The NAT network the bench's domains attach to. */
  network: string;
  sshHost: string;
  sshPort: number;
  sshUser: string;
  sshKeyFile: string;
  knownHosts: string;
}

/**
 * The libvirt test bed's settings: from the environment when tools/test.sh
 * (or a shell that sourced libvirt.env) set them, else from the env file
 * tools/testbed/up.sh libvirt writes after bringing the test bed up afresh
 * (an env file alone may be stale: its daemons do not outlive the machine).
 *
 * @throws Error when the test bed cannot start.
 */
export function libvirtTestbed(): LibvirtTestbed {
  let env: Record<string, string | undefined> = process.env;
  if (!env["VIRTRIGAUD_LIBVIRT_SSH_PORT"]) {
    const testbed = process.env["VIRTRIGAUD_TESTBED"] ?? join(repoRoot, ".testbed");
    execFileSync(join(repoRoot, "tools/testbed/up.sh"), ["libvirt"], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, VIRTRIGAUD_TESTBED: testbed },
    });
    env = readEnvFile(join(testbed, "libvirt.env"));
  }
  const get = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`the libvirt test bed sets no ${name}`);
    return value;
  };
  return {
    uri: get("VIRTRIGAUD_LIBVIRT_URI"),
    dir: get("VIRTRIGAUD_LIBVIRT_DIR"),
    network: get("VIRTRIGAUD_LIBVIRT_NETWORK"),
    sshHost: get("VIRTRIGAUD_LIBVIRT_SSH_HOST"),
    sshPort: Number(get("VIRTRIGAUD_LIBVIRT_SSH_PORT")),
    sshUser: get("VIRTRIGAUD_LIBVIRT_SSH_USER"),
    sshKeyFile: get("VIRTRIGAUD_LIBVIRT_SSH_KEY"),
    knownHosts: get("VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS"),
  };
}

/** The variables of an env file lib.sh's write_env wrote (`export NAME=VALUE`, quoted by printf %q). */
function readEnvFile(file: string): Record<string, string> {
  // bash reads what bash quoted: it sources the file and prints the variables NUL-separated.
  const out = execFileSync(
    "bash",
    ["-c", '. "$1"; env -0 | grep -z "^VIRTRIGAUD_LIBVIRT_"', "_", file],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  const env: Record<string, string> = {};
  for (const entry of out.split("\0")) {
    const at = entry.indexOf("=");
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}
