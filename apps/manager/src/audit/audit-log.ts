import {
  closeSync,
  existsSync,
  fchmodSync,
  fstatSync,
  openSync,
  renameSync,
  writeSync,
} from "node:fs";
import type { AuditEntry } from "./audit-entry.js";

/** Where audit records go, and the most recent of them for reading back. */
export interface AuditLog {
  /** Writes one record as one JSON line before it returns. */
  record(entry: AuditEntry): void;
  /** The most recent records this manager wrote since it started, oldest first. */
  recent(limit: number): AuditEntry[];
  close(): void;
}

/** Options of `openAuditLog`. */
export interface AuditLogOptions {
  /** A file to append to, "-" for standard output, or undefined to keep records in memory only. */
  path?: string | undefined;
  /** A file past this size is rotated before the next line. Default: 100 MiB. */
  maxBytes?: number;
  /** Rotated files kept (file.1 the newest). Default: 5. */
  maxFiles?: number;
  /** Records kept in memory for `recent`. Default: 1000. */
  keep?: number;
}

/**
 * The audit log: one JSON line per record, written synchronously, so a
 * call's record is on disk (in the page cache) before its answer leaves and
 * a crash loses no acknowledged call's line. The file is made 0600 (records
 * name who did what) and rotated by size, as logrotate's `rotate N` would:
 * file → file.1 → … → file.N, the oldest dropped.
 */
export function openAuditLog(options: AuditLogOptions = {}): AuditLog {
  const keep = options.keep ?? 1000;
  const ring: AuditEntry[] = [];
  const sink = options.path === "-" ? stdoutSink() : options.path ? fileSink(options) : undefined;
  return {
    record(entry) {
      sink?.write(`${JSON.stringify(entry)}\n`);
      ring.push(entry);
      if (ring.length > keep) ring.splice(0, ring.length - keep);
    },
    recent(limit) {
      return ring.slice(Math.max(0, ring.length - limit));
    },
    close() {
      sink?.close();
    },
  };
}

interface Sink {
  write(line: string): void;
  close(): void;
}

function stdoutSink(): Sink {
  return { write: (line) => void writeSync(1, line), close: () => {} };
}

function fileSink(options: AuditLogOptions): Sink {
  const path = options.path as string;
  const maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
  const maxFiles = options.maxFiles ?? 5;
  let fd = openSync(path, "a", 0o600);
  fchmodSync(fd, 0o600); // a file made earlier, or by hand, is narrowed too
  let size = fstatSync(fd).size;
  const rotate = () => {
    closeSync(fd);
    for (let n = maxFiles - 1; n >= 1; n--) {
      if (existsSync(`${path}.${n}`)) renameSync(`${path}.${n}`, `${path}.${n + 1}`);
    }
    if (maxFiles >= 1) renameSync(path, `${path}.1`);
    // With no rotated files kept, the full file is started again ("w" truncates).
    fd = openSync(path, maxFiles >= 1 ? "a" : "w", 0o600);
    size = 0;
  };
  return {
    write(line) {
      const bytes = Buffer.byteLength(line);
      if (size > 0 && size + bytes > maxBytes) rotate();
      writeSync(fd, line);
      size += bytes;
    },
    close() {
      closeSync(fd);
    },
  };
}
