import { closeSync, openSync, writeSync } from "node:fs";
import type { CallObserver } from "@virtrigaud/contracts/server";

/** The header a manager's controllers put their leader term in. */
export const leaderTermHeader = "virtrigaud-leader-term";

/** One line of the call log. */
export interface CallLogLine {
  /** When the call arrived, in milliseconds since the epoch. */
  at: number;
  /** The RPC, as on the wire: "Create", "ListVMs". */
  method: string;
  /** The caller's virtrigaud-leader-term header; null when it sent none. */
  term: string | null;
  /** Whether the call succeeded. */
  ok: boolean;
}

/** A call log open on its file. */
export interface CallLog {
  observer: CallObserver;
  close(): void;
}

/**
 * Appends one JSON line per call to `file` (created if missing): when it
 * arrived, its method, the leader term it carried and whether it succeeded,
 * so a test can count which manager term made which calls. Each line is
 * written as the call ends, unbuffered, so a reader sees it at once.
 *
 * @throws Error when the file cannot be opened for appending
 */
export function openCallLog(file: string): CallLog {
  const fd = openSync(file, "a");
  let open = true;
  return {
    observer: {
      finished(req, _info, error, durationMs) {
        if (!open) return;
        const line: CallLogLine = {
          at: Math.round(Date.now() - durationMs),
          method: req.method.name,
          term: req.header.get(leaderTermHeader),
          ok: error === undefined,
        };
        writeSync(fd, `${JSON.stringify(line)}\n`);
      },
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}
