import { readFileSync } from "node:fs";

// Linux's USER_HZ: /proc's times are in these ticks (100 on every mainstream architecture).
const ticksPerSecond = 100;

/**
 * CPU-seconds (user and system) a process has used so far, from
 * /proc/<pid>/stat: less sensitive to a shared machine's load than wall time.
 * This process's own come from process.cpuUsage().
 */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined || pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15, the 12th and 13th after the name.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/**
 * CPU-seconds the whole machine has been busy so far (user, nice, system,
 * irq and softirq of every core, from /proc/stat): the providers, the
 * host's sshd and qemu-img, and anything else that runs.
 */
export function machineCpuSeconds(): number {
  const first = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [, user, nice, system, , , irq, softirq] = first.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) / ticksPerSecond;
}

/** The most resident memory a process has held (VmHWM), in MiB; this process's own from resourceUsage. */
export function peakRssMib(pid: number | undefined): number {
  if (pid === undefined || pid === process.pid) return process.resourceUsage().maxRSS / 1024;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return Number(kib ?? Number.NaN) / 1024;
}
