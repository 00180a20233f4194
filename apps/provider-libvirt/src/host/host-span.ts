import { type Attributes, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

const tracer = trace.getTracer("@virtrigaud/provider-libvirt");

/**
 * Runs `work` in a CLIENT span named `name`, a child of the active span (the
 * provider's RPC), so a trace shows each call to the libvirt host. Callers
 * put command and program names in `attributes`, never their arguments: those
 * carry user documents. A no-op unless the process set up tracing.
 */
export async function inHostSpan<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await work();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
