import type { Logger } from "../logging/create-logger.js";

/** Lines logged in one window at most; the rest are counted into the next line. */
const linesPerWindow = 5;
const windowMs = 10_000;

/**
 * Logs TLS handshakes the server refused (no client certificate, one of
 * another CA, a protocol the server does not speak), with the client's
 * address and the reason: who knocked and was turned away is worth knowing.
 * A flood (a scanner, a misconfigured client in a loop) costs at most five
 * lines per 10 s; what was not logged is counted in the next line.
 */
export function createHandshakeRefusalLog(
  logger: Logger,
  now: () => number = Date.now,
): (address: string, reason: string) => void {
  let windowStart = -Infinity;
  let logged = 0;
  let suppressed = 0;
  return (address, reason) => {
    const t = now();
    if (t - windowStart >= windowMs) {
      windowStart = t;
      logged = 0;
    }
    if (logged >= linesPerWindow) {
      suppressed++;
      return;
    }
    logged++;
    logger.warn(
      { address, reason, ...(suppressed ? { refusedUnlogged: suppressed } : {}) },
      "TLS handshake refused",
    );
    suppressed = 0;
  };
}
