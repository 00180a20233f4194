import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  type BatchSpanProcessorOptions,
  type SpanExporter,
  TracerProvider,
} from "@opentelemetry/sdk-trace";

/** Options of `setupTracing`. */
export interface TracingOptions {
  /** The service.name resource attribute, for example "virtrigaud-provider-libvirt". */
  serviceName: string;
  serviceVersion?: string;
  /**
   * Where spans go, in batches sized and timed by OTEL_BSP_SCHEDULE_DELAY,
   * OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_QUEUE_SIZE and
   * OTEL_BSP_MAX_EXPORT_BATCH_SIZE when set. Default: an OTLP/HTTP exporter when
   * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
   * (the exporter reads them); otherwise nowhere.
   */
  exporter?: SpanExporter;
  env?: NodeJS.ProcessEnv;
}

/** Tracing as set up; `shutdown` flushes the spans still queued. */
export interface Tracing {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

/**
 * Sets up OpenTelemetry tracing for a service process: W3C trace context and
 * baggage propagation and, when an exporter is configured, a global tracer
 * provider exporting in batches with the async context manager (so spans
 * nest across awaits). Call it once, first thing in `main`.
 */
export function setupTracing(options: TracingOptions): Tracing {
  const env = options.env ?? process.env;
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  const configured =
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] || env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];
  const exporter = options.exporter ?? (configured ? new OTLPTraceExporter() : undefined);
  if (!exporter) return { enabled: false, shutdown: async () => {} };
  // Only with spans to export: on Node 20 the async context manager hooks
  // every promise, which costs each call tens of microseconds.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      "service.name": options.serviceName,
      ...(options.serviceVersion ? { "service.version": options.serviceVersion } : {}),
    }),
    spanProcessors: [new BatchSpanProcessor({ exporter, ...batchOptionsFromEnv(env) })],
  });
  trace.setGlobalTracerProvider(provider);
  return { enabled: true, shutdown: () => provider.shutdown() };
}

type BatchSettings = Omit<BatchSpanProcessorOptions, "exporter">;

/**
 * The batch span processor's settings from the OTEL_BSP_* variables of the
 * OpenTelemetry specification, which the SDK's processor no longer reads
 * itself. A value that is not a positive integer is ignored.
 */
function batchOptionsFromEnv(env: NodeJS.ProcessEnv): BatchSettings {
  const read = (name: string) => {
    const value = Number(env[name]);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const options: BatchSettings = {};
  const scheduledDelayMillis = read("OTEL_BSP_SCHEDULE_DELAY");
  const exportTimeoutMillis = read("OTEL_BSP_EXPORT_TIMEOUT");
  const maxQueueSize = read("OTEL_BSP_MAX_QUEUE_SIZE");
  const maxExportBatchSize = read("OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
  if (scheduledDelayMillis) options.scheduledDelayMillis = scheduledDelayMillis;
  if (exportTimeoutMillis) options.exportTimeoutMillis = exportTimeoutMillis;
  if (maxQueueSize) options.maxQueueSize = maxQueueSize;
  if (maxExportBatchSize) options.maxExportBatchSize = maxExportBatchSize;
  return options;
}
