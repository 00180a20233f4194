/**
 * The console relay's WebSocket URL on the page's own origin: the path the
 * ticket came with (the browser never chooses a host or port), and the
 * ticket.
 */
export function relayUrl(origin: string, path: string, ticket: string): string {
  const url = new URL(path, origin);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("ticket", ticket);
  return url.toString();
}

const ticketRefusal = "console ticket refused: ";

/** What the page says when the relay closed the console (see the manager's close-codes.ts). */
export function closedText(code: number, reason: string): string {
  if (code === 1000 || code === 1005) return "The console is closed.";
  if (code === 4401) {
    const why = reason.startsWith(ticketRefusal) ? reason.slice(ticketRefusal.length) : reason;
    return `The manager refused this console's ticket (${why || "refused"}): close the console and open it again.`;
  }
  // Closed before it opened, with no word from the relay: the browser says no more.
  if (code === 1006) return "The console's connection to the manager failed.";
  if (code === 4408) return `The console was closed: ${reason || "time limit"}.`;
  return `The console was closed: ${reason || `code ${code}`}.`;
}
