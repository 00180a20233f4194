import { describe, expect, it } from "@jest/globals";
import {
  busySecondsOf,
  cpuSeconds,
  machineBusySeconds,
  mainThreadSchedule,
  scheduleOf,
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

  it("counts this process's main thread's CPU in its schedule, and not a sleep", async () => {
    const before = mainThreadSchedule(process.pid);
    spinCpu(200);
    const spun = mainThreadSchedule(process.pid);
    expect(spun.runSeconds - before.runSeconds).toBeGreaterThanOrEqual(0.19);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mainThreadSchedule(process.pid).runSeconds - spun.runSeconds).toBeLessThan(0.1);
  });
});
