import type { ConnectError, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import type { CallInfo } from "../call-context.js";

/** Something that watches calls start and finish: metrics, access logs. */
export interface CallObserver {
  started?(req: UnaryRequest | StreamRequest, info: CallInfo): void;
  /** `error` is the call's failure as sent to the client; undefined on success. */
  finished(
    req: UnaryRequest | StreamRequest,
    info: CallInfo,
    error: ConnectError | undefined,
    durationMs: number,
  ): void;
}
