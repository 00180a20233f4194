import { describe, expect, it } from "@jest/globals";
import {
  busySecondsOf,
  cpuSeconds,
  machineBusySeconds,
  mainThreadSchedule,
  scheduleOf,
  type ThreadSchedule,
} from "./processes.js";

/**
 * Keeps this thread busy until it has used `ms` of CPU, by Node's own count:
 * on a loaded machine a spin of wall time may get less CPU than it lasts.
 */
function spinCpu(ms: number): void {
  const before = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(before);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

describe("CPU figures from /proc", () => {
  it("counts user, nice, system, irq, softirq and steal as busy, not idle or I/O wait", () => {
    const stat = [
      "cpu  1000 20 300 50000 700 4 5 6 0 0",
      "cpu0 500 10 150 25000 350 2 3 3 0 0",
      "intr 123",
    ].join("\n");
    expect(busySecondsOf(stat)).toBeCloseTo((1000 + 20 + 300 + 4 + 5 + 6) / 100);
  });

  it("counts this process's CPU time in the machine's busy time and in its own", () => {
    const machineBefore = machineBusySeconds();
    const ownBefore = cpuSeconds(process.pid);
    spinCpu(300);
    // Ticks are 10 ms: allow two at each end.
    expect(cpuSeconds(process.pid) - ownBefore).toBeGreaterThanOrEqual(0.26);
    expect(machineBusySeconds() - machineBefore).toBeGreaterThanOrEqual(0.26);
  });

  it("does not count a wait as busy time of this process", async () => {
    const ownBefore = cpuSeconds(process.pid);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cpuSeconds(process.pid) - ownBefore).toBeLessThan(0.1);
  });

  it("reads a thread's time run and time waited for a core, in seconds", () => {
    expect(scheduleOf("33300000000 11000000000 123456\n")).toEqual({
      runSeconds: 33.3,
      waitSeconds: 11,
    });
  });

  it("counts a spinning main thread as running or waiting for a core all along, and not a sleep", async () => {
    // A thread that can run is either on a core or waiting for one: its run and
    // wait together follow the wall clock, however loaded the machine (and
    // whatever this process's other threads do meanwhile).
    const before = mainThreadSchedule(process.pid);
    const end = performance.now() + 300;
    while (performance.now() < end);
    const spun = mainThreadSchedule(process.pid);
    const runnable = (s: ThreadSchedule) => s.runSeconds + s.waitSeconds;
    expect(runnable(spun) - runnable(before)).toBeGreaterThanOrEqual(0.28);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mainThreadSchedule(process.pid).runSeconds - spun.runSeconds).toBeLessThan(0.1);
  });
});
