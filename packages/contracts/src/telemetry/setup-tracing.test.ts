import { expect, it } from "@jest/globals";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { setupTracing } from "./setup-tracing.js";

// One setup per process: the global tracer provider can be set only once.

it("is off without an exporter or an OTLP endpoint", async () => {
  const tracing = setupTracing({ serviceName: "off", env: {} });
  expect(tracing.enabled).toBe(false);
  await tracing.shutdown();
});

it("exports spans in batches on the schedule OTEL_BSP_SCHEDULE_DELAY sets", async () => {
  const exporter = new InMemorySpanExporter();
  const tracing = setupTracing({
    serviceName: "batch-test",
    exporter,
    env: { OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "not a number" },
  });
  try {
    expect(tracing.enabled).toBe(true);
    trace.getTracer("test").startActiveSpan("work", (span) => span.end());
    // The processor's default delay is 5 s, the test's whole timeout: only the
    // variable's 20 ms gets the span out before shutdown flushes it.
    while (exporter.getFinishedSpans().length === 0) await new Promise((r) => setTimeout(r, 10));
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe("work");
    expect(span?.resource.attributes["service.name"]).toBe("batch-test");
  } finally {
    await tracing.shutdown();
  }
});
