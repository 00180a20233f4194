import { setupTracing } from "@virtrigaud/contracts/server";
import { createProcessIo, runVrtg } from "./main.js";

// Spans go out over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; shutdown
// flushes them before the process exits.
const tracing = setupTracing({ serviceName: "vrtg", serviceVersion: "0.1.0" });
try {
  process.exitCode = await runVrtg(process.argv.slice(2), createProcessIo());
} finally {
  await tracing.shutdown();
}
