/**
 * The console with a large fleet: how long the fleet page takes to show
 * 10,000 VMs, against the List call that page makes (its floor), and how its
 * frames hold while 100 VMs a second change, against the same page idle.
 * Debian's Chromium, headless; the manager and provider-mock on 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Kind } from "@virtrigaud/proto/manager";
import { type Page, chromium } from "playwright-core";
import { bundleSize } from "./bundle-size.js";
import { vmManifest, vmName } from "@virtrigaud/bench-manager/dist/fleet.js";
import { consoleDist, startFleet } from "./fleet-stack.js";
import { type FrameStats, frameStats, percentile } from "./frame-stats.js";
import { applyLabelUpdates } from "./label-updates.js";
import {
  declaredPowerOf,
  fleetShows,
  initScript,
  startRecording,
  stopRecording,
} from "./page-scripts.js";

const { values } = parseArgs({
  options: {
    vms: { type: "string", default: "10000" },
    rate: { type: "string", default: "100" },
    seconds: { type: "string", default: "10" },
    loads: { type: "string", default: "3" },
    // Writes Chromium's CPU profile of the page while it takes the updates (open in DevTools).
    profile: { type: "string" },
    chromium: {
      type: "string",
      default: process.env["VIRTRIGAUD_CHROMIUM"] ?? "/usr/bin/chromium",
    },
  },
  strict: true,
});
const n = Number(values.vms);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const loads = Number(values.loads);
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

async function record(page: Page, during: () => Promise<unknown>) {
  await page.evaluate(startRecording);
  await during();
  return page.evaluate<{ frames: number[]; longTaskMs: number }>(stopRecording);
}

const describeFrames = (label: string, s: FrameStats) =>
  `${label}: ${s.frames} frames, interval p50 ${s.p50Ms.toFixed(1)} ms, p95 ${s.p95Ms.toFixed(1)} ms, max ${s.maxMs.toFixed(0)} ms; ` +
  `${s.late} late (${s.dropped} frames not drawn); long tasks ${s.longTaskMs.toFixed(0)} ms`;

const dir = mkdtempSync(join(tmpdir(), "bench-console-"));
console.log(`applying ${n} VMs and waiting until they are Ready...`);
const fleet = await startFleet(dir, n);
const browser = await chromium.launch({
  executablePath: values.chromium,
  headless: true,
  // Nothing that reaches beyond loopback (shared/TESTBED.md).
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"],
});
try {
  // The console's CSP forbids eval; the bench's probes are evaluated as text.
  const context = await browser.newContext({
    viewport: { width: 1200, height: 700 },
    bypassCSP: true,
  });
  await context.addInitScript({ content: initScript(fleet.token) });

  // The floor: the List the page makes, from Node, binary, over the same loopback.
  const listMs: number[] = [];
  for (let i = 0; i < loads; i++) {
    const t = performance.now();
    const listed = await fleet.client.list({ kind: Kind.VIRTUAL_MACHINE, allNamespaces: true });
    listMs.push(performance.now() - t);
    if (listed.resources.length !== n) throw new Error(`List gave ${listed.resources.length} VMs`);
  }

  // Load: from navigation start until the counter says every VM is in (the rows drawn then).
  const loadMs: number[] = [];
  let page: Page | undefined;
  for (let i = 0; i < loads; i++) {
    await page?.close();
    page = await context.newPage();
    await page.goto(fleet.consoleUrl);
    await page.waitForFunction(fleetShows(n), undefined, { polling: "raf", timeout: 60_000 });
    loadMs.push(await page.evaluate<number>("performance.now()"));
  }
  if (!page) throw new Error("no page");

  // Frames: the page idle, then while `rate` VMs a second change.
  const idle = await record(page, () => new Promise((r) => setTimeout(r, seconds * 1000)));
  const frameMs =
    median(idle.frames.slice(1).map((t, i) => t - (idle.frames[i] ?? t))) || 1000 / 60;
  let updates = { applied: 0, seconds: 0 };
  const cdp = values.profile ? await context.newCDPSession(page) : undefined;
  await cdp?.send("Profiler.enable");
  await cdp?.send("Profiler.start");
  const busy = await record(page, async () => {
    updates = await applyLabelUpdates(fleet.client, n, rate, seconds);
  });
  if (cdp && values.profile) {
    const { profile } = await cdp.send("Profiler.stop");
    writeFileSync(values.profile, JSON.stringify(profile));
  }
  // The page still follows: the first row's declared power, changed once more, shows.
  const first = `default/${vmName(0)}`;
  await fleet.client.apply({ resource: vmManifest(0, {}, "Off") });
  const t = performance.now();
  await page.waitForFunction(`${declaredPowerOf(first)} === "declared Off"`, undefined, {
    polling: "raf",
    timeout: 10_000,
  });
  const followMs = performance.now() - t;

  const idleStats = frameStats(idle.frames, frameMs, idle.longTaskMs);
  const busyStats = frameStats(busy.frames, frameMs, busy.longTaskMs);
  console.log(
    `\nThe fleet page with ${n} VMs (manager on SQLite, provider-mock, Chromium headless, 1200x700), median of ${loads}:`,
  );
  console.log(
    `  load to every VM listed: ${median(loadMs).toFixed(0)} ms (runs ${loadMs.map((x) => x.toFixed(0)).join(", ")}); ` +
      `the List call alone from Node: ${median(listMs).toFixed(0)} ms; page/List ${(median(loadMs) / median(listMs)).toFixed(2)}x`,
  );
  console.log(
    `  live updates: ${updates.applied} label changes in ${updates.seconds.toFixed(1)} s (${(updates.applied / updates.seconds).toFixed(0)}/s), frame time ${frameMs.toFixed(1)} ms`,
  );
  console.log(`  ${describeFrames("idle   ", idleStats)}`);
  console.log(`  ${describeFrames("updates", busyStats)}`);
  console.log(
    `  frames drawn while updating / idle: ${(busyStats.frames / Math.max(1, idleStats.frames)).toFixed(2)}x; ` +
      `a change after them shown in ${followMs.toFixed(0)} ms`,
  );
  const sizes = bundleSize(consoleDist);
  console.log(
    `  bundle: ${sizes.map((s) => `${s.file} ${s.kB.toFixed(0)} kB (${s.gzipKB.toFixed(0)} kB gzip)`).join(", ")}`,
  );
} finally {
  await browser.close();
  await fleet.stop();
  rmSync(dir, { recursive: true, force: true });
}
