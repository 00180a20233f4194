#!/usr/bin/env node
// The real-guest bench: the time from `vrtg apply` of a VM with cloud-init
// to a successful SSH login into its guest (the project's Debian image under
// QEMU TCG on the libvirt test bed), beside the same boot done with plain
// tools on the same daemon (virsh define + start, `virsh domifaddr` polled,
// then ssh). Median of --reps runs of each, interleaved; the ratio is ours
// over the baseline's. Load averages are printed: under TCG the wall clock
// follows what else runs on the machine.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import type { BootTimes, GuestShape } from "./boot-times.js";
import { bootWithVirsh } from "./plain-virsh.js";
import { guestTestbed, libvirtHostFlags } from "@virtrigaud/testbed";
import { bootThroughManager, stackManifests, startServer, vrtg } from "./through-manager.js";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    "timeout-minutes": { type: "string", default: "10" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(`Usage: node bench/guest/dist/main.js [flags]

  --reps N              boots of each path; the median is reported (default 3)
  --timeout-minutes N   a boot that reaches no SSH login within N minutes fails the run (default 10)`);
  process.exit(0);
}
const reps = Number(values.reps);
const timeoutMs = Number(values["timeout-minutes"]) * 60_000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const testbed = guestTestbed();
const dir = mkdtempSync(join(tmpdir(), "vrtg-bench-guest-"));
const key = join(dir, "guest_key");
await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key, "-C", "vrtg-bench-guest"]);
const shape: GuestShape = {
  cpu: 2,
  memoryMib: 1024,
  rootGib: 2,
  userData: [
    "#cloud-config",
    "users:",
    "  - name: vrtg",
    "    sudo: ALL=(ALL) NOPASSWD:ALL",
    "    ssh_authorized_keys:",
    `      - ${readFileSync(`${key}.pub`, "utf8").trim()}`,
    "",
  ].join("\n"),
};
const login = { user: "vrtg", key };
const pool = { name: "vrtg-bench-guest", dir: join(testbed.dir, "bench-guest-pool") };

process.stderr.write(`image ${testbed.image}; load average ${load()}\n`);
const provider = await startServer("libvirt", [
  ...libvirtHostFlags(testbed),
  "--storage-pool",
  pool.name,
  "--create-pool-dir",
  pool.dir,
]);
const manager = await startServer("manager", ["--data", join(dir, "data")]);
const ours: BootTimes[] = [];
const plain: BootTimes[] = [];
const loads: string[] = [];
try {
  const stack = join(dir, "stack.yaml");
  (await import("node:fs")).writeFileSync(stack, stackManifests(testbed, provider.url, shape));
  await vrtg(manager.url, "apply", "-f", stack);
  await vrtg(
    manager.url,
    "wait",
    "vmimage",
    "debian",
    "--for",
    "condition=Ready",
    "--timeout",
    "120s",
  );
  for (let i = 0; i < reps; i++) {
    // Alternating which goes first, so neither always meets the other's leftovers.
    const order = i % 2 === 0 ? ["manager", "virsh"] : ["virsh", "manager"];
    for (const path of order) {
      loads.push(load());
      const deadline = Date.now() + timeoutMs;
      const name = `bench-${path}-${i + 1}`;
      const times =
        path === "manager"
          ? await bootThroughManager(manager.url, dir, shape, name, login, testbed, deadline)
          : await bootWithVirsh(testbed, shape, name, login, deadline);
      (path === "manager" ? ours : plain).push(times);
      process.stderr.write(
        `${name}: QEMU started after ${seconds(times.toQemuStartMs)}, address after ${seconds(times.toAddressMs)}, SSH login after ${seconds(times.toSshMs)} (load ${loads.at(-1)})\n`,
      );
    }
  }
} finally {
  await manager.stop();
  await provider.stop();
  const virsh = (...args: string[]) => run("virsh", ["-q", "-c", testbed.uri, ...args]);
  await virsh("pool-destroy", pool.name).catch(() => undefined);
  await virsh("pool-undefine", pool.name).catch(() => undefined);
  rmSync(pool.dir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}

const row = (what: string, pick: (t: BootTimes) => number) => {
  const a = median(ours.map(pick));
  const b = median(plain.map(pick));
  return `${what.padEnd(34)}${seconds(a).padStart(10)}${seconds(b).padStart(12)}${`${(a / b).toFixed(2)}x`.padStart(8)}`;
};
console.log(
  `${"median of " + reps}`.padEnd(34) +
    "vrtg apply".padStart(10) +
    "plain virsh".padStart(12) +
    "ratio".padStart(8),
);
console.log(row("to QEMU's start", (t) => t.toQemuStartMs));
console.log(row("to the guest's address", (t) => t.toAddressMs));
console.log(row("to an SSH login (the measure)", (t) => t.toSshMs));
console.log(row("QEMU's start to an SSH login", (t) => t.toSshMs - t.toQemuStartMs));
console.log(
  `\nruns: vrtg ${ours.map((t) => seconds(t.toSshMs)).join(", ")}; plain ${plain.map((t) => seconds(t.toSshMs)).join(", ")}`,
);
console.log(`load average (1, 5, 15 min) at each boot's start: ${loads.join(" | ")}`);
const ratio = median(ours.map((t) => t.toSshMs)) / median(plain.map((t) => t.toSshMs));
console.log(
  `target: within 1.1x of the baseline: ${ratio <= 1.1 ? "met" : "not met"} (${ratio.toFixed(2)}x)`,
);
