import { createHistogram, performance } from "node:perf_hooks";
import type { BatchObservableCallback, Meter } from "@opentelemetry/api";

/** How often the loop is sampled: a timer this often, and how late it ran. */
const resolutionMs = 10;

/**
 * Observes how long the process's event loop was held up: the delay of its
 * timers (p50, p99, max since the last collection) and the share of time it
 * was busy. A server whose loop is held up answers late however idle its
 * CPU looks, so this is the first figure to read when calls slow down. Names
 * follow OpenTelemetry's semantic conventions for Node.js (nodejs.eventloop.*).
 * The delay is how late a 10 ms timer ran (0 on an idle loop). Node's
 * monitorEventLoopDelay is not used: its reset() forgets the tick before the
 * next one, so a stall just after a scrape would go unseen (and OpenTelemetry's
 * runtime-node instrumentation needs a newer API than ours).
 *
 * @returns a function that stops observing.
 */
export function observeEventLoop(meter: Meter): () => void {
  const delay = createHistogram();
  let lastTick = performance.now();
  const sampler = setInterval(() => {
    const now = performance.now();
    // In nanoseconds, at least 1: the histogram takes positive integers only.
    delay.record(Math.max(1, Math.round((now - lastTick - resolutionMs) * 1e6)));
    lastTick = now;
  }, resolutionMs).unref();
  let lastUtilization = performance.eventLoopUtilization();
  // An empty histogram (no tick since the last collection) reports 0.
  const seconds = (ns: number) => (delay.count > 0 && Number.isFinite(ns) ? ns / 1e9 : 0);
  const gauges = {
    p50: meter.createObservableGauge("nodejs.eventloop.delay.p50", {
      description: "Median event loop delay since the last collection",
      unit: "s",
    }),
    p99: meter.createObservableGauge("nodejs.eventloop.delay.p99", {
      description: "99th percentile of the event loop delay since the last collection",
      unit: "s",
    }),
    max: meter.createObservableGauge("nodejs.eventloop.delay.max", {
      description: "Longest event loop delay since the last collection",
      unit: "s",
    }),
    utilization: meter.createObservableGauge("nodejs.eventloop.utilization", {
      description: "Share of time the event loop was busy since the last collection",
      unit: "1",
    }),
  };
  const callback: BatchObservableCallback = (result) => {
    result.observe(gauges.p50, seconds(delay.percentile(50)));
    result.observe(gauges.p99, seconds(delay.percentile(99)));
    result.observe(gauges.max, seconds(delay.max));
    const now = performance.eventLoopUtilization();
    result.observe(
      gauges.utilization,
      performance.eventLoopUtilization(now, lastUtilization).utilization,
    );
    lastUtilization = now;
    delay.reset();
  };
  meter.addBatchObservableCallback(callback, Object.values(gauges));
  return () => {
    meter.removeBatchObservableCallback(callback, Object.values(gauges));
    clearInterval(sampler);
  };
}
