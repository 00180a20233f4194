import type { ConnectError, StreamRequest, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import type { CallInfo } from "../call-context.js";

/** Something that watches calls start and finish: metrics, access logs. */
export interface CallObserver {
  started?(req: UnaryRequest | StreamRequest, info: CallInfo): void;
  /**
   * `error` is the call's failure as sent to the client; undefined on
   * success. `res` is a unary call's response when it succeeded (what an
   * audit record reads a resource's new version from).
   */
  finished(
    req: UnaryRequest | StreamRequest,
    info: CallInfo,
    error: ConnectError | undefined,
    durationMs: number,
    res?: UnaryResponse,
  ): void;
}
