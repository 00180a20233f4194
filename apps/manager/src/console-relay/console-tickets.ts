import { createHash, randomBytes } from "node:crypto";
import type { ConsoleKind } from "@virtrigaud/proto/manager";

/** What a ticket lets its holder open: one console of one VirtualMachine. */
export interface ConsoleBinding {
  namespace: string;
  name: string;
  kind: ConsoleKind;
  /** Who asked for it, for the relay's log line. */
  user: string;
}

/** Why a ticket was refused: never the ticket itself. */
type TicketRefusal = "unknown or used" | "expired" | "for another VM";

/** Options of `createConsoleTickets`. */
export interface ConsoleTicketsOptions {
  /** How long a ticket is accepted. Default: 30 s. */
  ttlMs?: number;
  /** Milliseconds since the epoch. Default: Date.now. */
  now?: () => number;
}

/** The console tickets of one manager process (see `createConsoleTickets`). */
export interface ConsoleTickets {
  /** A new ticket for `binding`, and when it stops being accepted. */
  issue(binding: ConsoleBinding): { ticket: string; expiresAt: number };
  /**
   * Takes a ticket presented at the relay for the VM `namespace`/`name`: its
   * binding, or why it is refused. A ticket is taken once, whatever the
   * outcome: one presented for another VM is gone too.
   */
  redeem(
    ticket: string,
    namespace: string,
    name: string,
  ): ConsoleBinding | { refused: TicketRefusal };
}

/** Tickets are kept by their hash: the map holds nothing a heap dump could replay. */
function keyOf(ticket: string): string {
  return createHash("sha256").update(ticket).digest("base64url");
}

/**
 * Short-lived, single-use console tickets, in this process's memory: 32
 * random bytes each (base64url), kept by their SHA-256. Expired ones are
 * dropped as new ones are issued, so the map stays as small as the tickets
 * of the last `ttlMs`.
 */
export function createConsoleTickets(options: ConsoleTicketsOptions = {}): ConsoleTickets {
  const ttlMs = options.ttlMs ?? 30_000;
  const now = options.now ?? Date.now;
  const tickets = new Map<string, ConsoleBinding & { expiresAt: number }>();
  const sweep = (at: number) => {
    for (const [key, held] of tickets) if (held.expiresAt <= at) tickets.delete(key);
  };
  return {
    issue(binding) {
      const at = now();
      sweep(at);
      const ticket = randomBytes(32).toString("base64url");
      const expiresAt = at + ttlMs;
      tickets.set(keyOf(ticket), { ...binding, expiresAt });
      return { ticket, expiresAt };
    },
    redeem(ticket, namespace, name) {
      const key = keyOf(ticket);
      const held = tickets.get(key);
      tickets.delete(key);
      if (!held) return { refused: "unknown or used" };
      if (held.expiresAt <= now()) return { refused: "expired" };
      if (held.namespace !== namespace || held.name !== name) return { refused: "for another VM" };
      return { namespace: held.namespace, name: held.name, kind: held.kind, user: held.user };
    },
  };
}
