import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it, jest } from "@jest/globals";
import {
  type ServerProcess,
  type VrtgProcess,
  eventually,
  spawnLibvirt,
  spawnManager,
  spawnVrtg,
  vrtg,
} from "./processes.js";
import {
  guestTestbed,
  libvirtHostFlags,
  libvirtTestbed,
  passwordGuestManifests,
  removeLibvirtObjects,
} from "@virtrigaud/testbed";

// `vrtg console` on a real guest: the manager (a process) relays the serial
// console of the project's Debian image, booted by provider-libvirt on the
// libvirt test bed, to vrtg through its pipes. The console shows the guest's
// login prompt; the user cloud-init made logs in there and a command runs.
// One guest, booted once.

jest.setTimeout(15 * 60_000);

const minutes = (n: number) => n * 60_000;

const suffix = randomBytes(3).toString("hex");
const name = `console-${suffix}`;
const pool = `vrtg-console-e2e-${suffix}`;
const dir = mkdtempSync(join(tmpdir(), "vrtg-e2e-console-"));
/** The guest user's password: typed on the console, never printed. */
const password = randomBytes(12).toString("hex");
let poolDir = "";
let provider: ServerProcess;
let manager: ServerProcess;

const manifests = () =>
  passwordGuestManifests(guestTestbed(), { name, password, providerUrl: provider.url });

beforeAll(async () => {
  poolDir = join(libvirtTestbed().dir, "console-e2e", suffix);
  mkdirSync(poolDir, { recursive: true });
  provider = await spawnLibvirt([
    ...libvirtHostFlags(libvirtTestbed()),
    "--domain-type",
    "qemu",
    "--storage-pool",
    pool,
    "--create-pool-dir",
    poolDir,
  ]);
  manager = await spawnManager(join(dir, "data"), ["--health-interval", "1s"]);
  const applied = await vrtg(manager.url, ["apply", "-f", "-"], manifests());
  expect(applied.stderr).toBe("");
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await provider?.stop();
  await removeLibvirtObjects(libvirtTestbed(), { domains: [name], pools: [pool] });
  rmSync(poolDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

/** Waits until vrtg has printed `text` since `from` (an offset in its output), pressing Enter every few seconds when `nudge`. */
async function shown(
  console: VrtgProcess,
  text: string | RegExp,
  from: number,
  timeoutMs: number,
  nudge = false,
): Promise<number> {
  let lastNudge = 0;
  return eventually(
    () => {
      const out = console.stdout().slice(from);
      const at = typeof text === "string" ? out.indexOf(text) : out.search(text);
      if (at >= 0) return from + at;
      if (console.child.exitCode !== null)
        throw new Error(`vrtg console ended: ${console.stderr()}`);
      if (nudge && Date.now() - lastNudge > 5_000) {
        lastNudge = Date.now();
        console.child.stdin?.write("\r");
      }
      return undefined;
    },
    timeoutMs,
    `${String(text)} on the console`,
  );
}

it("shows the guest's login prompt, and a command typed after logging in runs in the guest", async () => {
  await eventually(
    async () => {
      const result = await vrtg(manager.url, ["get", "vm", name, "-o", "json"]);
      const vm = JSON.parse(result.stdout || "{}") as { status?: { powerState?: string } };
      return vm.status?.powerState === "On";
    },
    minutes(3),
    `${name} powered on`,
  );
  const console = spawnVrtg(manager.url, ["console", name], { keepStdinOpen: true });
  try {
    // The guest boots under TCG: the prompt comes within minutes; Enter makes getty print it again.
    const prompt = await shown(console, `${name} login: `, 0, minutes(8), true);
    console.child.stdin?.write("vrtg\r");
    const asked = await shown(console, "Password:", prompt, minutes(1));
    console.child.stdin?.write(`${password}\r`);
    const loggedIn = await shown(console, /vrtg@[\w-]+:~\$ $/m, asked, minutes(2));
    console.child.stdin?.write("echo $((6 * 7))-from-$(hostname)\r");
    await shown(console, `42-from-${name}`, loggedIn, minutes(1));
    console.child.stdin?.write("exit\r\x1d");
    const result = await console.result;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`Connected to ${name}`);
    expect(result.stdout).not.toContain(password);
  } finally {
    console.child.kill();
  }
});
