import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { type Clock, systemClock } from "../clock.js";

/** A ticket handed out, as the caller gets it. */
interface IssuedTicket {
  /** The bearer token: 32 random bytes, base64url. Only its SHA-256 is kept. */
  ticket: string;
  /** When it stops working, in milliseconds since the epoch. */
  expiresAt: number;
}

/**
 * The tickets that read shared exports (DiskExportShare): each reads one
 * export until it expires or the export is unshared. Kept in memory, as
 * digests, so a dump of the process's memory or a restart gives none away.
 */
export interface ShareTickets {
  /** A new ticket for `exportId`, valid `ttlMs`. */
  issue(exportId: string, ttlMs: number): IssuedTicket;
  /** Whether `ticket` reads `exportId` now. Compared in constant time. */
  allows(exportId: string, ticket: string): boolean;
  /** Ends every ticket of `exportId` (DiskExportEnd). */
  revoke(exportId: string): void;
}

/** Tickets kept per export: a caller that shares again and again keeps the newest. */
const maxTicketsPerExport = 16;

interface Held {
  digest: Buffer;
  expiresAt: number;
}

const digestOf = (ticket: string) => createHash("sha256").update(ticket).digest();

export function createShareTickets(clock: Clock = systemClock): ShareTickets {
  const byExport = new Map<string, Held[]>();
  /** The export's tickets that have not expired; an export left with none is forgotten. */
  const live = (exportId: string): Held[] => {
    const now = clock.now();
    const held = (byExport.get(exportId) ?? []).filter((h) => h.expiresAt > now);
    if (held.length) byExport.set(exportId, held);
    else byExport.delete(exportId);
    return held;
  };
  return {
    issue(exportId, ttlMs) {
      const ticket = randomBytes(32).toString("base64url");
      const expiresAt = clock.now() + ttlMs;
      const held = [...live(exportId), { digest: digestOf(ticket), expiresAt }];
      byExport.set(exportId, held.slice(-maxTicketsPerExport));
      return { ticket, expiresAt };
    },
    allows(exportId, ticket) {
      const digest = digestOf(ticket);
      // Every held ticket is compared, so the time taken says nothing of which matched.
      let match = false;
      for (const held of live(exportId)) match = timingSafeEqual(held.digest, digest) || match;
      return match;
    },
    revoke(exportId) {
      byExport.delete(exportId);
    },
  };
}
