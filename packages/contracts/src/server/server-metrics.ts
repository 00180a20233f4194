import type { Meter } from "@opentelemetry/api";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { type MetricReader, MeterProvider } from "@opentelemetry/sdk-metrics";
import { observeEventLoop } from "./event-loop-metrics.js";

/** Options of `createServerMetrics`. */
export interface ServerMetricsOptions {
  /** The service.name resource attribute, for example "virtrigaud-manager". */
  serviceName: string;
  /** Readers besides the Prometheus endpoint, for example an OTLP exporter. */
  readers?: MetricReader[];
}

/**
 * The metrics of one server process: its event loop's delay and use
 * (nodejs.eventloop.*), and instruments made from `meter(name)`, served on
 * the server's /metrics beside the harness's own RPC metrics and pushed to
 * any extra readers.
 */
export interface ServerMetrics {
  /** A meter for the process's own instruments, named after the code that records them. */
  meter(name: string): Meter;
  /** The reader behind /metrics. */
  readonly prometheus: PrometheusExporter;
  /** Flushes the readers and stops collecting; the server calls it when it stops. */
  shutdown(): Promise<void>;
}

/**
 * Creates the metrics of a server process, for the instruments of the
 * process's own work (a work queue's depth, calls to a backend). Pass them
 * to `serveServices` or `serveProvider` as `metrics` so /metrics serves them;
 * `runProvider` makes one and hands its meter to the provider.
 */
export function createServerMetrics(options: ServerMetricsOptions): ServerMetrics {
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName }),
    readers: [prometheus, ...(options.readers ?? [])],
  });
  const stopObserving = observeEventLoop(provider.getMeter("@virtrigaud/contracts/runtime"));
  let stopped: Promise<void> | undefined;
  return {
    meter: (name) => provider.getMeter(name),
    prometheus,
    shutdown: () => {
      stopObserving();
      return (stopped ??= provider.shutdown());
    },
  };
}
