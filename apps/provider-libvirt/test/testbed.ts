import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Secret } from "@virtrigaud/contracts";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { type LibvirtTestbed, libvirtTestbed } from "@virtrigaud/testbed";

/** The repository's root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

let bed: LibvirtTestbed | undefined;

/** The libvirt test bed (`libvirtTestbed()`: its env, or brought up), read when a test first asks. */
export function testbed(): LibvirtTestbed {
  return (bed ??= libvirtTestbed());
}

/** The test bed's SSH client key, as the provider takes it. */
export function sshKey(): Secret {
  return new Secret(readFileSync(testbed().sshKeyFile, "utf8"));
}

const run = promisify(execFile);

/** Runs plain virsh against the test bed's daemon, locally (test set-up and checks). */
export async function virsh(...args: string[]): Promise<string> {
  const { stdout } = await run("virsh", ["-q", "-c", testbed().uri, ...args], {
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/** Restarts the test bed's libvirtd (guests keep running). */
export async function restartLibvirtd(): Promise<void> {
  await run(join(repoRoot, "tools/testbed/libvirt/restart-libvirtd.sh"), [], {
    env: { ...process.env, VIRTRIGAUD_TESTBED: dirname(testbed().dir) },
  });
}

/** The PID of the test bed's namespace supervisor (for nsenter into libvirtd's network). */
export async function testbedSupervisor(): Promise<string> {
  const pids = await readFile(join(dirname(testbed().dir), "libvirt.pids"), "utf8");
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
