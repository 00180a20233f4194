import { type FSWatcher, readFileSync, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "@virtrigaud/contracts";
import { type TokenHolder, type TokenTable, hashToken, parseTokenFile } from "./token-file.js";

/** The tokens of a token file, kept current as the file changes. */
export interface TokenFileWatch {
  /** Who the token stands for, if its hash is in the file now. */
  holderOf(token: string): TokenHolder | undefined;
  close(): void;
}

/** How often the file's metadata is compared, besides fs.watch's events (which can be missed). */
const statIntervalMs = 200;

function stamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch {
    return "missing";
  }
}

/**
 * Reads a token file and reads it again whenever it changes (fs.watch on its
 * directory, so a file replaced by a rename is seen, and a stat every 200 ms
 * for events fs.watch misses): a removed line is refused well within a
 * second, without a restart. A file that goes missing or stops parsing
 * fails closed: no token is accepted until it is fixed.
 *
 * @throws Error when the file cannot be read or parsed at start.
 */
export function watchTokenFile(path: string, logger: Logger): TokenFileWatch {
  let table: TokenTable = parseTokenFile(readFileSync(path, "utf8"));
  let last = stamp(path);
  const reload = () => {
    const now = stamp(path);
    if (now === last) return;
    last = now;
    try {
      table = parseTokenFile(readFileSync(path, "utf8"));
      logger.info({ tokenFile: path, tokens: table.size }, "token file reloaded");
    } catch (err) {
      table = new Map();
      logger.warn(
        { tokenFile: path, err: (err as Error).message },
        "token file unreadable: refusing every token until it is fixed",
      );
    }
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file === null || file === basename(path)) reload();
    });
    watcher.on("error", () => watcher?.close());
  } catch {
    // The stat check below still sees every change.
  }
  const timer = setInterval(reload, statIntervalMs);
  timer.unref();
  return {
    holderOf: (token) => table.get(hashToken(token)),
    close() {
      clearInterval(timer);
      watcher?.close();
    },
  };
}
