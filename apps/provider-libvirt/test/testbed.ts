import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Secret } from "@virtrigaud/contracts";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** The repository's root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tools/testbed/up.sh libvirt`);
  return value;
}

/** The libvirt test bed, as its env file describes it. */
export const testbed = {
  get uri() {
    return required("VIRTRIGAUD_LIBVIRT_URI");
  },
  get dir() {
    return required("VIRTRIGAUD_LIBVIRT_DIR");
  },
  get network() {
    return required("VIRTRIGAUD_LIBVIRT_NETWORK");
  },
  get poolDir() {
    return required("VIRTRIGAUD_LIBVIRT_POOL_DIR");
  },
  get sshHost() {
    return required("VIRTRIGAUD_LIBVIRT_SSH_HOST");
  },
  get sshPort() {
    return Number(required("VIRTRIGAUD_LIBVIRT_SSH_PORT"));
  },
  /** An SSH port whose sessions run in libvirtd's mount and network namespaces. */
  get namespaceSshPort() {
    return Number(required("VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT"));
  },
  get sshUser() {
    return required("VIRTRIGAUD_LIBVIRT_SSH_USER");
  },
  get sshKeyFile() {
    return required("VIRTRIGAUD_LIBVIRT_SSH_KEY");
  },
  get sshKey() {
    return new Secret(readFileSync(required("VIRTRIGAUD_LIBVIRT_SSH_KEY"), "utf8"));
  },
  get knownHosts() {
    return required("VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS");
  },
  get wrongKnownHosts() {
    return required("VIRTRIGAUD_LIBVIRT_SSH_WRONG_KNOWN_HOSTS");
  },
};

const run = promisify(execFile);

/** Runs plain virsh against the test bed's daemon, locally (test set-up and checks). */
export async function virsh(...args: string[]): Promise<string> {
  const { stdout } = await run("virsh", ["-q", "-c", testbed.uri, ...args], {
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/** Restarts the test bed's libvirtd (guests keep running). */
export async function restartLibvirtd(): Promise<void> {
  await run(join(repoRoot, "tools/testbed/libvirt/restart-libvirtd.sh"), [], {
    env: { ...process.env, VIRTRIGAUD_TESTBED: dirname(testbed.dir) },
  });
}

/** The PID of the test bed's namespace supervisor (for nsenter into libvirtd's network). */
export async function testbedSupervisor(): Promise<string> {
  const pids = await readFile(join(dirname(testbed.dir), "libvirt.pids"), "utf8");
  const pid = pids.split("\n")[0]?.trim();
  if (!pid)
    throw new Error("the libvirt test bed records no supervisor: run tools/testbed/up.sh libvirt");
  return pid;
}

/** A bridge on the test bed's network namespace, for bridge NICs. */
export function testBridge(): string {
  return process.env["VIRTRIGAUD_LIBVIRT_BRIDGE"] ?? "vrtgbr1";
}

/** Destroys and undefines the domains whose names start with one of `prefixes` (leftovers of an earlier run). */
export async function removeDomains(...prefixes: string[]): Promise<void> {
  const names = (await virsh("list", "--all", "--name"))
    .split("\n")
    .map((n) => n.trim())
    .filter((n) => n && prefixes.some((p) => n.startsWith(p)));
  for (const name of names) {
    await virsh("destroy", "--domain", name).catch(() => undefined);
    await virsh("undefine", "--domain", name, "--snapshots-metadata", "--nvram").catch(
      () => undefined,
    );
  }
}

/** The images below a disk image, nearest first (qemu-img, locally). */
export async function chainOf(path: string): Promise<string[]> {
  const { stdout } = await run("qemu-img", [
    "info",
    "-U",
    "--backing-chain",
    "--output=json",
    path,
  ]);
  return (JSON.parse(stdout) as Array<{ filename: string }>).slice(1).map((c) => c.filename);
}
