// The leader lease's own connection to PostgreSQL: one client, listening on
// the lease channel, whose every statement has a deadline. On a deadline or
// any error the client's socket is destroyed and the next statement opens a
// new one.
//
// Why not pg's query_timeout: it fails the caller's promise but leaves the
// statement active on the client, so every later statement queues behind one
// that a stalled path will never answer; and client.end() on a stalled socket
// waits for a FIN that never comes. The socket is ours (pg's `stream`
// factory), so a stalled one can always be destroyed.

import { Socket } from "node:net";
import { ProviderError } from "@virtrigaud/contracts";
import pg from "pg";

/** Options of `createLeaseConnection`. */
export interface LeaseConnectionOptions {
  /** Where PostgreSQL is. Its password never reaches a log. */
  config: pg.ClientConfig;
  /** The channel to LISTEN on, on every (re)connect. */
  channel: string;
  /** Called with each notification's payload on the channel. */
  onNotification: (payload: string | undefined) => void;
  /** Server-side cap on each statement, so a statement the client gave up on does not run later. */
  statementTimeoutMs: number;
}

/** One PostgreSQL session for the lease, reopened after any failure. */
export interface LeaseConnection {
  /**
   * Runs one statement, connecting first when needed, all within `timeoutMs`.
   *
   * @throws ProviderError DEADLINE_EXCEEDED when `timeoutMs` passes first (the
   * socket is then destroyed); the driver's error for anything else
   */
  query(text: string, values: readonly unknown[], timeoutMs: number): Promise<pg.QueryResult>;
  /** Ends the session (destroying the socket if the goodbye takes over `timeoutMs`); later queries fail. */
  close(timeoutMs: number): Promise<void>;
}

interface Session {
  client: pg.Client;
  /** Resolves once connected and listening. */
  ready: Promise<void>;
  destroy: () => void;
}

/** Opens nothing until the first query. */
export function createLeaseConnection(options: LeaseConnectionOptions): LeaseConnection {
  let session: Session | undefined;
  let closed = false;

  function open(): Session {
    let socket: Socket | undefined;
    const client = new pg.Client({
      ...options.config,
      statement_timeout: options.statementTimeoutMs,
      stream: () => (socket = new Socket()),
    });
    const opened: Session = {
      client,
      ready: client.connect().then(async () => {
        await client.query(`LISTEN ${options.channel}`);
      }),
      destroy: () => {
        if (session === opened) session = undefined;
        socket?.destroy();
      },
    };
    // A dead session is dropped; its error reaches the caller of the query it broke.
    client.on("error", opened.destroy);
    client.on("end", opened.destroy);
    client.on("notification", (message) => {
      if (message.channel === options.channel) options.onNotification(message.payload);
    });
    opened.ready.catch(opened.destroy);
    return opened;
  }

  return {
    query(text, values, timeoutMs) {
      if (closed)
        return Promise.reject(ProviderError.unavailable("the lease connection is closed"));
      const current = (session ??= open());
      return withDeadline(
        current.ready.then(() => current.client.query(text, values as unknown[])),
        timeoutMs,
      ).catch((error: unknown) => {
        // Cheap to reopen, and the only safe move after a timeout.
        current.destroy();
        throw error;
      });
    },
    async close(timeoutMs) {
      closed = true;
      const current = session;
      if (!current) return;
      await withDeadline(current.client.end(), timeoutMs).catch(() => undefined);
      current.destroy();
    },
  };
}

function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(ProviderError.deadlineExceeded(`no answer from PostgreSQL within ${timeoutMs} ms`));
    }, timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
