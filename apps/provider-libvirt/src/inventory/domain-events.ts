import { type Clock, type Logger, systemClock } from "@virtrigaud/contracts";
import type { LibvirtHost } from "../host/libvirt-host.js";

/**
 * libvirt's domain events, followed on a long-lived `virsh event --all
 * --loop`: what tells a listing that a definition it read before may have
 * changed since. Every event names its domain (a definition, a metadata
 * change, a start, a device added, the guest agent connecting, ...); an
 * event counts for the domain it names, and one whose name cannot be read
 * for every domain. Some changes send no event (`virsh setmem --config`,
 * for one): the listing also compares each domain's figures and reads every
 * definition again after a while (see definition-reuse.ts).
 */
export interface DomainEvents {
  /**
   * A mark of now, to read definitions under; undefined while the events
   * are not followed (not yet, or not since the last restart settled): then
   * nothing read may be reused.
   */
  mark(): EventMark | undefined;
  /**
   * Whether the domain of this name may have changed since `mark`: an event
   * named it after the mark, an event's name could not be read, or the
   * events stopped being followed in between.
   */
  changedSince(mark: EventMark, name: string): boolean;
  /** Stops following; idempotent. */
  close(): void;
}

/** A point in the followed events: which run of the follower, and how many events it had seen. */
export interface EventMark {
  readonly run: number;
  readonly seen: number;
}

/** Options of `createDomainEvents`. */
export interface DomainEventsOptions {
  host: Pick<LibvirtHost, "uri" | "follow" | "description">;
  logger?: Logger | undefined;
  clock?: Clock;
  /**
   * How long after virsh starts before its events are trusted: virsh prints
   * nothing when it has subscribed, so a change just before would be missed.
   * Default: 1 s.
   */
  settleMs?: number;
  /** The longest wait before following again after virsh ended. Default: 30 s. */
  maxBackoffMs?: number;
}

/** Past this many names remembered, they are forgotten and everything counts as changed once. */
const maxNames = 50_000;

/**
 * The domain an event line names: `event 'TYPE' for domain 'NAME': DETAIL`
 * (virsh's format), or `undefined` when it cannot be told for sure (a
 * name with `': ` in it, or a line of another shape). Empty lines are `null`.
 */
export function eventDomain(line: string): string | undefined | null {
  if (line.trim() === "") return null;
  const match = /^event '[^']*' for domain '(.*)$/.exec(line);
  const rest = match?.[1];
  if (rest === undefined) return undefined;
  const end = rest.indexOf("': ");
  if (end < 0 || rest.indexOf("': ", end + 1) >= 0) return undefined;
  return rest.slice(0, end);
}

/**
 * Follows the host's domain events, from the first `mark()` on, and again
 * after virsh fails (backing off), until it or the host is closed.
 */
export function createDomainEvents(options: DomainEventsOptions): DomainEvents {
  const { host, logger } = options;
  const clock = options.clock ?? systemClock;
  const settleMs = options.settleMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const stop = new AbortController();
  let started = false;
  let run = 0;
  let seen = 0;
  let trusted = false;
  /** The last event's count by the name it named. */
  const lastByName = new Map<string, number>();
  /** The count of the last event that named no readable domain. */
  let lastUnnamed = -1;

  const onLine = (line: string) => {
    const name = eventDomain(line);
    if (name === null) return;
    seen++;
    if (name === undefined) {
      lastUnnamed = seen;
    } else {
      if (lastByName.size >= maxNames) {
        lastByName.clear();
        lastUnnamed = seen;
      }
      lastByName.set(name, seen);
    }
  };

  const follow = async () => {
    let backoff = 1000;
    while (!stop.signal.aborted) {
      run++;
      seen = 0;
      lastByName.clear();
      lastUnnamed = -1;
      trusted = false;
      const thisRun = run;
      const settled = clock
        .sleep(settleMs, stop.signal)
        .then(() => {
          if (run === thisRun) trusted = true;
        })
        .catch(() => undefined);
      const startedAt = clock.now();
      try {
        await host.follow(
          ["virsh", "-q", "-c", host.uri, "event", "--all", "--loop"],
          onLine,
          stop.signal,
        );
        // Ended without an error: closed, this or the host.
        trusted = false;
        run++;
        stop.abort();
        return;
      } catch (err) {
        logger?.warn(
          { err, host: host.description },
          "stopped following libvirt's domain events; listings read every definition until they are followed again",
        );
      }
      trusted = false;
      run++;
      await settled;
      if (stop.signal.aborted) return;
      // A run that lasted resets the backoff: only a virsh that keeps failing waits long.
      if (clock.now() - startedAt > maxBackoffMs) backoff = 1000;
      await clock.sleep(backoff, stop.signal).catch(() => undefined);
      backoff = Math.min(maxBackoffMs, backoff * 2);
    }
  };

  return {
    mark() {
      if (!started && !stop.signal.aborted) {
        started = true;
        void follow();
      }
      return trusted ? { run, seen } : undefined;
    },
    changedSince(mark, name) {
      if (!trusted || mark.run !== run) return true;
      return lastUnnamed > mark.seen || (lastByName.get(name) ?? 0) > mark.seen;
    },
    close() {
      stop.abort();
      trusted = false;
    },
  };
}
