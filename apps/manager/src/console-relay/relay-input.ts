import { ConsoleKind as ProviderConsoleKind, type ConsoleRequestSchema } from "@virtrigaud/proto";
import { ConsoleKind } from "@virtrigaud/proto/manager";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TerminalSize } from "./relay-control.js";

type ConsoleRequestInit = MessageInitShape<typeof ConsoleRequestSchema>;

/** The provider contract's console kind for the manager API's. */
export function providerKindOf(kind: ConsoleKind): ProviderConsoleKind {
  switch (kind) {
    case ConsoleKind.SERIAL:
      return ProviderConsoleKind.SERIAL;
    case ConsoleKind.VNC:
      return ProviderConsoleKind.VNC;
    default:
      return ProviderConsoleKind.UNSPECIFIED;
  }
}

/** What a relay session feeds the provider's Console stream. */
export interface RelayInput extends AsyncIterable<ConsoleRequestInit> {
  /** Bytes the client sent. */
  push(bytes: Uint8Array): void;
  /** The client's terminal size, in order with its bytes. */
  resize(size: TerminalSize): void;
  /** No more bytes: the provider's stream is half-closed. */
  end(): void;
}

/**
 * The requests of a Console stream: `open` first, then each message the
 * client sends. `pause` is called when more than `highWaterBytes` wait to be
 * read and `resume` once they are read, so a client that types faster than
 * the provider takes is held back at its socket rather than in memory.
 */
export function createRelayInput(
  open: { vmId: string; kind: ProviderConsoleKind },
  flow: { pause(): void; resume(): void; highWaterBytes: number },
): RelayInput {
  // Bytes and sizes in the order the client sent them; only bytes count towards the flow's limit.
  const queued: Array<Uint8Array | TerminalSize> = [];
  let queuedBytes = 0;
  let paused = false;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    push(bytes) {
      if (ended) return;
      queued.push(bytes);
      queuedBytes += bytes.length;
      if (!paused && queuedBytes > flow.highWaterBytes) {
        paused = true;
        flow.pause();
      }
      notify();
    },
    resize(size) {
      if (ended) return;
      queued.push(size);
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    async *[Symbol.asyncIterator]() {
      yield { frame: { case: "open", value: open } };
      for (;;) {
        const next = queued.shift();
        if (next instanceof Uint8Array) {
          queuedBytes -= next.length;
          if (paused && queuedBytes <= flow.highWaterBytes / 2) {
            paused = false;
            flow.resume();
          }
          yield { frame: { case: "input", value: next } };
        } else if (next) yield { frame: { case: "resize", value: next } };
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
