import { readFileSync } from "node:fs";

// Linux reports utime and stime in clock ticks, USER_HZ, which is 100 on every mainstream kernel.
const msPerTick = 10;

/**
 * CPU time (user + system) a process has used so far, in milliseconds, from
 * /proc; undefined where /proc is not there. Throughput on a shared 2-core
 * machine swings with whatever else runs; the server's CPU time per call is
 * its own cost and swings far less.
 */
export function readCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * msPerTick;
  } catch {
    return undefined;
  }
}
