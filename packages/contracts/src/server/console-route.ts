import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type Capabilities,
  ConsoleKindSchema,
  ConsoleOpenSchema,
  type ConsoleRequest,
  type ConsoleResponseSchema,
  type ConsoleSize,
  ConsoleSizeSchema,
} from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import type { ConsoleInput, ProviderConsole, ProviderContext } from "../provider.js";
import { findViolation, validateMessage } from "../validation/validate-message.js";

/**
 * Serves one Console stream: reads its first request, which must be `open`,
 * checks it as the guards check a unary request (the contract's rules, then
 * a kind the provider declared), and hands the rest of the requests' bytes
 * and terminal sizes (each checked) to the provider. The guards see no stream's messages, so the checks are here.
 *
 * @throws ProviderError INVALID_SPEC for a stream that does not begin with
 * `open`, opens twice, or breaks the open's or a resize's rules; UNSUPPORTED for a kind
 * not in console_kinds or a provider without a console.
 */
export async function* serveConsole(
  providerConsole: ProviderConsole | undefined,
  capabilities: Capabilities,
  requests: AsyncIterable<ConsoleRequest>,
  context: ProviderContext,
): AsyncIterable<MessageInitShape<typeof ConsoleResponseSchema>> {
  if (!providerConsole) {
    throw ProviderError.unsupported("console is not supported by this provider");
  }
  const iterator = requests[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done || first.value.frame.case !== "open") {
    throw ProviderError.invalidSpec("open", "a console stream begins with open");
  }
  const open = first.value.frame.value;
  validateMessage(ConsoleOpenSchema, open);
  if (!capabilities.consoleKinds.includes(open.kind)) {
    const name = ConsoleKindSchema.value[open.kind]?.name ?? String(open.kind);
    throw ProviderError.unsupported(`console ${name} is not supported by this provider`);
  }
  let size: ConsoleSize | undefined;
  const listeners: Array<(size: ConsoleSize) => void> = [];
  async function* bytes(): AsyncIterable<Uint8Array> {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const { frame } = next.value;
      if (frame.case === "open") {
        throw ProviderError.invalidSpec("open", "a console stream is opened once");
      }
      if (frame.case === "input") yield frame.value;
      else if (frame.case === "resize") {
        const violation = findViolation(ConsoleSizeSchema, frame.value);
        if (violation)
          throw ProviderError.invalidSpec(`resize.${violation.field}`, violation.message);
        size = frame.value;
        for (const listener of listeners) listener(frame.value);
      }
    }
  }
  const input: ConsoleInput = {
    [Symbol.asyncIterator]: () => bytes()[Symbol.asyncIterator](),
    onResize(listener) {
      listeners.push(listener);
      if (size) listener(size);
    },
  };
  for await (const output of providerConsole(open, input, context)) yield { output };
}
