import { createContextKey } from "@connectrpc/connect";
import type { Logger } from "../logging/create-logger.js";

/**
 * What the harness knows about a call, shared from the interceptors with the
 * provider's context. A class, not an object literal with a getter: every
 * call's object then shares one shape, which keeps property reads fast.
 */
export class CallInfo {
  #child: Logger | undefined;

  constructor(
    readonly requestId: string,
    readonly rpc: string,
    private readonly parent: Logger,
    /** Whether debug lines are wanted, known without making the child logger. */
    readonly debug: boolean,
  ) {}

  /** A child logger with the request id, made on first use: most calls never log. */
  get logger(): Logger {
    return (this.#child ??= this.parent.child({ requestId: this.requestId, rpc: this.rpc }));
  }
}

/** Where interceptors keep the CallInfo of a call. */
export const callInfoKey = createContextKey<CallInfo | undefined>(undefined, {
  description: "virtrigaud call info",
});

/** The protocol of a call, from its content type: "grpc", "grpc_web" or "connect_rpc". */
export function protocolOf(header: Headers): "grpc" | "grpc_web" | "connect_rpc" {
  const type = header.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc_web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect_rpc";
}
