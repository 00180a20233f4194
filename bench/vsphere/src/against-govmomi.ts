// Ours against govmomi, in the same run against the same vcsim: each lister
// (list-with-sdk.js and tools/govmomi-list) runs as a fresh process, `runs`
// times, alternating, so a first call is truly a process's first.
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { vmPaths } from "@virtrigaud/provider-vsphere";
import { appNodeFlags, spreadOf } from "@virtrigaud/testbed";
import type { Vcsim } from "@virtrigaud/vsphere-sdk/testing";

/** What either lister prints. */
interface ListerReport {
  vms: number;
  objects: number;
  properties: number;
  digest: string;
  firstMs: number;
  repeatedMs: number[];
  firstCpuMs: number;
  repeatedCpuMs: number[];
  rssBeforeKiB: number;
  peakRssKiB: number;
}

/** The figures of one side over its runs. */
export interface SideFigures {
  reports: ListerReport[];
  firstMs: number;
  repeatedMs: number;
  firstCpuMs: number;
  repeatedCpuMs: number;
  /** Peak RSS minus RSS before the first call (median over the runs), KiB. */
  listPeakKiB: number;
}

/**
 * The Node flags provider-vsphere runs with (its package.json, which its
 * image's entrypoint and tools/run.sh follow), for every call alike: today a
 * young generation of 16 MiB from the start (deploy/docker/apps.Dockerfile
 * says why).
 */
export const nodeFlags = appNodeFlags("provider-vsphere");
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const run = promisify(execFile);

/** tools/govmomi-list, built (or found up to date) by its build.sh. */
function govmomiList(): string {
  execFileSync(join(repoRoot, "tools/govmomi-list/build.sh"), { stdio: "inherit" });
  const testbed = process.env["VIRTRIGAUD_TESTBED"] ?? join(repoRoot, ".testbed");
  return join(testbed, "govmomi-list/bin/govmomi-list");
}

const median = (values: number[]) => spreadOf(values).median;

function figures(reports: ListerReport[]): SideFigures {
  return {
    reports,
    firstMs: median(reports.map((r) => r.firstMs)),
    repeatedMs: median(reports.flatMap((r) => r.repeatedMs)),
    firstCpuMs: median(reports.map((r) => r.firstCpuMs)),
    repeatedCpuMs: median(reports.flatMap((r) => r.repeatedCpuMs)),
    listPeakKiB: median(reports.map((r) => r.peakRssKiB - r.rssBeforeKiB)),
  };
}

/**
 * Runs both listers `runs` times each against `vcsim`, each run a first call
 * and `repeat` repeated ones; then ours once more for the heap its decoded
 * answer keeps.
 *
 * @throws Error when a lister fails or prints no report.
 */
export async function compareWithGovmomi(
  vcsim: Vcsim,
  runs: number,
  repeat: number,
): Promise<{ ours: SideFigures; govmomi: SideFigures; heapKeptKiB: number }> {
  const env = {
    ...process.env,
    VSPHERE_URL: vcsim.url,
    VSPHERE_USERNAME: vcsim.username,
    VSPHERE_PASSWORD: vcsim.password,
    VSPHERE_CA_FILE: vcsim.caFile,
    BENCH_REPEAT: String(repeat),
  };
  const go = govmomiList();
  const ourLister = fileURLToPath(new URL("./list-with-sdk.js", import.meta.url));
  const parse = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!) as ListerReport;
  const ours: ListerReport[] = [];
  const theirs: ListerReport[] = [];
  for (let i = 0; i < runs; i++) {
    const options = { env, maxBuffer: 1 << 20 };
    ours.push(parse((await run(process.execPath, [...nodeFlags, ourLister], options)).stdout));
    theirs.push(
      parse(
        (await run(go, ["-paths", vmPaths.join(","), "-repeat", String(repeat)], options)).stdout,
      ),
    );
  }
  const heap = await run(process.execPath, [...nodeFlags, ourLister], {
    env: { ...env, BENCH_HEAP: "1" },
    maxBuffer: 1 << 20,
  });
  const { heapKeptKiB } = JSON.parse(heap.stdout) as { heapKeptKiB: number };
  return { ours: figures(ours), govmomi: figures(theirs), heapKeptKiB };
}
