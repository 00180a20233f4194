/** A terminal's size, in characters, as a client's control message gives it. */
export interface TerminalSize {
  cols: number;
  rows: number;
}

/** The largest side a control message may give: the contract's ConsoleSize allows 1000. */
const maxSide = 1000;

const isSide = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= maxSide;

/**
 * Reads a text message of the relay's WebSocket: its binary messages are the
 * console's bytes, and its text messages control it. The one control message
 * is `{"resize":{"cols":C,"rows":R}}`, the client's terminal size (1 to 1000
 * each). Anything else is refused with why.
 */
export function relayControlOf(text: string): { resize: TerminalSize } | { refused: string } {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { refused: "a text message must be JSON" };
  }
  const resize =
    typeof message === "object" && message !== null && "resize" in message
      ? message.resize
      : undefined;
  if (typeof resize !== "object" || resize === null)
    return { refused: 'the only text message is {"resize":{"cols":C,"rows":R}}' };
  const { cols, rows } = resize as { cols?: unknown; rows?: unknown };
  if (!isSide(cols) || !isSide(rows))
    return { refused: `a resize gives cols and rows as whole numbers from 1 to ${maxSide}` };
  return { resize: { cols, rows } };
}
