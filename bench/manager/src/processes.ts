import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { appNodeFlags } from "@virtrigaud/testbed";

const bins = {
  mock: fileURLToPath(new URL("../../../apps/provider-mock/dist/main.js", import.meta.url)),
  manager: fileURLToPath(new URL("../../../apps/manager/dist/main.js", import.meta.url)),
};

/** A server the benchmark started. */
export interface Server {
  child: ChildProcess;
  url: string;
  opsUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts the built provider-mock or manager with `args` and waits until it
 * logs that it serves. The manager runs with its Node flags, as deployed.
 *
 * @throws Error when it exits first or does not serve within 30 s.
 */
export function startServer(which: keyof typeof bins, args: string[]): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      ...(which === "manager" && process.env.BENCH_PROFILE_DIR
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
        : []),
      ...(which === "manager" ? appNodeFlags("manager") : []),
      bins[which],
      "--insecure",
      "--listen",
      "127.0.0.1:0",
      "--ops-listen",
      "127.0.0.1:0",
      ...args,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let buffered = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${which} did not start`)), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.includes("serving")) continue;
        const entry = JSON.parse(line) as { msg: string; url: string; ops: string };
        if (!entry.msg.endsWith("serving")) continue;
        clearTimeout(timer);
        resolve({
          child,
          url: entry.url,
          opsUrl: entry.ops,
          stop: async () => {
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`${which} exited before serving`)));
  });
}

/** The largest resident set a process has had, in MiB (Linux VmHWM). */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

/**
 * The CPU time a process has used so far (user and system), in seconds, from
 * /proc/PID/stat: on a shared machine a truer measure of a process's work
 * than the time it took.
 */
export function cpuSeconds(pid: number): number {
  // Fields after the command (which may hold spaces) start at the state, field 3.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime and stime, fields 14 and 15
  return ticks / 100; // USER_HZ, 100 on Linux
}

/** How long a thread has run on a core, and waited for one while it could run. */
export interface ThreadSchedule {
  runSeconds: number;
  waitSeconds: number;
}

/** The schedule in the text of /proc/PID/task/TID/schedstat (nanoseconds run, waited, slices). */
export function scheduleOf(schedstat: string): ThreadSchedule {
  const [run, wait] = schedstat.trim().split(/\s+/).map(Number);
  return { runSeconds: (run ?? 0) / 1e9, waitSeconds: (wait ?? 0) / 1e9 };
}

/**
 * A process's main thread's schedule so far: the time it waited for a core
 * is what the machine's other threads (its own collector's among them) took
 * from it, which its CPU time does not show.
 */
export function mainThreadSchedule(pid: number): ThreadSchedule {
  return scheduleOf(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8"));
}

/**
 * The time every core of the machine has spent busy so far (not idle, not
 * waiting for I/O), in seconds, from /proc/stat: what all processes took,
 * the bench's own and any others.
 */
export function machineBusySeconds(): number {
  return busySecondsOf(readFileSync("/proc/stat", "utf8"));
}

/** The busy time in the text of /proc/stat, in seconds. */
export function busySecondsOf(procStat: string): number {
  // "cpu  user nice system idle iowait irq softirq steal ...", in USER_HZ (100 on Linux).
  const ticks = (procStat.split("\n", 1)[0] ?? "").split(/\s+/).slice(1, 9).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100
  );
}

/** Provider RPCs served so far, by method, from a provider's /metrics. */
export async function providerCalls(opsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/rpc_server_duration_count\{[^}]*rpc_method="(\w+)"[^}]*\} (\d+)/g))
    out[m[1] ?? ""] = (out[m[1] ?? ""] ?? 0) + Number(m[2]);
  return out;
}
