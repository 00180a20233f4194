import { randomBytes } from "node:crypto";
import { type Logger, ProviderError } from "@virtrigaud/contracts";
import type { ShellPipes } from "./command-session.js";
import type { HostTransport } from "./host-transport.js";
import { shellCommand } from "./shell-quote.js";

/**
 * The provider's scratch directory on the host, where documents (domain XML,
 * cloud-init files, snapshot XML) are written for a moment: one directory per
 * provider process and connection, `<root>/virtrigaud-<uid>/<instance>.<random>`
 * (mode 0700, in a 0700 directory of the SSH user).
 *
 * Whether the process that made a directory is alive is decidable on the
 * host: a shell of the process's own SSH connection holds an flock(2) lock
 * on the directory for as long as that connection lives. When the process
 * dies (kill -9 included) the connection closes, the shell reads end of file
 * and exits, and the kernel drops the lock. A directory nobody holds is a dead
 * process's, and is removed when any provider's lease starts; a held one is
 * never touched. Directories are made and locked under a lock of the base
 * directory (`.lock`) which the sweep takes too, so a sweep never sees a new
 * directory before its lock is held.
 *
 * On a clean close (SIGTERM) the directory is removed while still held.
 */
export interface ScratchLease {
  /** This process's name on the host: the prefix of its directories. */
  readonly instance: string;
  /** The directory while it is held; undefined before the first acquire and after the connection ended. */
  readonly current: string | undefined;
  /**
   * The directory, made (and dead processes' directories removed) when the
   * connection has none yet.
   *
   * @throws ProviderError UNAVAILABLE when the host cannot make or lock it
   * (no flock(1), a base directory of another user).
   */
  acquire(signal?: AbortSignal): Promise<string>;
  /**
   * The host's identity (/etc/machine-id, else its host name): records of
   * other machines sharing a pool are never judged by this host's locks.
   */
  machine(signal?: AbortSignal): Promise<string>;
  /** Removes the directory and releases the lock. */
  close(): Promise<void>;
}

/** Options of `createScratchLease`. */
export interface ScratchLeaseOptions {
  transport: HostTransport;
  /** The directory on the host the provider's base directory is made in. Default: /tmp. */
  root?: string;
  logger?: Logger;
}

/**
 * The holder: makes the base directory, sweeps dead directories, makes and
 * locks its own, says `@@ready DIR`, and keeps the lock until its input ends
 * (the connection is gone) or says `remove`. Operation directories of
 * providers before this scheme (/tmp/virtrigaud.XXXXXXXX/<16 hex>) live only
 * during one operation: those an hour old are removed too, their parents not
 * (an old provider may still use them).
 */
const holderScript = `
root=$1 instance=$2
umask 077
uid=$(id -u) || exit 1
base="$root/virtrigaud-$uid"
mkdir -p -- "$base" 2>/dev/null
if [ -L "$base" ] || [ ! -d "$base" ] || [ ! -O "$base" ]; then
  echo "@@error $base is not a directory of user $uid"; exit 1
fi
chmod 700 -- "$base" || exit 1
command -v flock >/dev/null || { echo "@@error flock (util-linux) is not installed"; exit 1; }
exec 9>>"$base/.lock" || { echo "@@error cannot open $base/.lock"; exit 1; }
flock -x -w 60 9 || { echo "@@error cannot lock $base/.lock"; exit 1; }
for d in "$base"/*.*; do
  [ -d "$d" ] && [ ! -L "$d" ] || continue
  if flock -x -n -E 75 "$d" rm -rf -- "$d"; then echo "@@removed $d"; fi
done
if [ "$root" = /tmp ]; then
  find /tmp -mindepth 2 -maxdepth 2 -path '/tmp/virtrigaud.????????/????????????????' -type d \\
    -user "$uid" -mmin +60 -exec rm -rf -- {} + 2>/dev/null
fi
echo "@@machine $(cat /etc/machine-id 2>/dev/null || hostname)"
d=$(mktemp -d "$base/$instance.XXXXXX") || { echo "@@error cannot make a directory in $base"; exit 1; }
exec 8<"$d" && flock -x -n 8 || { echo "@@error cannot lock $d"; exit 1; }
flock -u 9
exec 9>&-
echo "@@ready $d"
while read -r line; do
  if [ "$line" = remove ]; then rm -rf -- "$d"; exit 0; fi
done
`;

/**
 * Tells, for each owner (`<base>/<instance>`, as `ownerOf` gives), whether a
 * directory of it is still held: `alive`, `dead`, or `unknown` when the
 * base's lock cannot be taken. Run as `sh -c SCRIPT sh OWNER...`.
 */
export const ownersScript = `
for owner; do
  base=\${owner%/*} state=dead
  if [ -d "$base" ]; then
    if exec 9>>"$base/.lock" && flock -x -w 60 9; then
      for d in "$owner".*; do
        [ -d "$d" ] || continue
        flock -x -n "$d" true || { state=alive; break; }
      done
      exec 9>&-
    else
      state=unknown
    fi
  fi
  echo "$state $owner"
done
`;

/** The owner a scratch directory belongs to: its path without the random suffix. */
export function ownerOf(dir: string): string {
  return dir.replace(/\.[^./]+$/, "");
}

// eslint-disable-next-line no-control-regex
const ownerShape = /^\/[^\0-\x1f]*\/virtrigaud-\d+\/[0-9a-f]{12}$/;

/** Whether a string (read back from the host) has the shape of an owner. */
export function isOwner(value: string): boolean {
  return ownerShape.test(value);
}

/** Reads `ownersScript`'s answer. Owners it does not mention are unknown. */
export function parseOwners(
  out: string,
  owners: readonly string[],
): Map<string, "alive" | "dead" | "unknown"> {
  const states = new Map<string, "alive" | "dead" | "unknown">(owners.map((o) => [o, "unknown"]));
  for (const line of out.split("\n")) {
    const match = /^(alive|dead|unknown) (.+)$/.exec(line);
    if (match?.[2] && states.has(match[2])) {
      states.set(match[2], match[1] as "alive" | "dead" | "unknown");
    }
  }
  return states;
}

interface Holder {
  dir: string;
  machine: string;
  pipes: ShellPipes;
  ended: Promise<void>;
}

/** Creates the lease; nothing happens on the host before the first `acquire`. */
export function createScratchLease(options: ScratchLeaseOptions): ScratchLease {
  const { transport, logger } = options;
  const root = (options.root ?? "/tmp").replace(/(.)\/+$/, "$1");
  const instance = randomBytes(6).toString("hex");
  let current: Promise<Holder> | undefined;
  let live: Holder | undefined;
  let closed = false;

  const open = async (signal?: AbortSignal): Promise<Holder> => {
    const pipes = await transport.openShell(signal);
    return new Promise<Holder>((resolve, reject) => {
      let buffer = "";
      let stderr = "";
      let error = "";
      let machine = "";
      let holder: Holder | undefined;
      let markEnded!: () => void;
      const ended = new Promise<void>((r) => (markEnded = r));
      pipes.stdout.setEncoding("utf8");
      pipes.stderr.setEncoding("utf8");
      pipes.stderr.on("data", (chunk: string) => {
        if (stderr.length < 4096) stderr += chunk;
      });
      pipes.stdout.on("data", (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (line.startsWith("@@removed ")) {
            logger?.info(
              { dir: line.slice("@@removed ".length) },
              "removed the scratch directory of a provider process that is gone",
            );
          } else if (line.startsWith("@@machine ")) {
            machine = line.slice("@@machine ".length).trim();
          } else if (line.startsWith("@@error ")) {
            error = line.slice("@@error ".length);
          } else if (line.startsWith("@@ready ")) {
            holder = { dir: line.slice("@@ready ".length), machine, pipes, ended };
            live = holder;
            resolve(holder);
          }
        }
      });
      const onEnd = () => {
        markEnded();
        if (!holder) {
          reject(
            ProviderError.unavailable(
              `cannot make a scratch directory on ${transport.description}: ${error || stderr.trim() || "the shell ended"}`,
            ),
          );
          return;
        }
        if (live === holder) {
          // The connection is gone: the next acquire makes a new directory.
          live = undefined;
          current = undefined;
          if (!closed)
            logger?.info({ dir: holder.dir }, "the scratch directory's connection ended");
        }
      };
      pipes.stdout.once("end", onEnd);
      pipes.stdout.once("error", onEnd);
      pipes.stdin.on("error", () => undefined);
      pipes.stdin.write(`exec ${shellCommand(["sh", "-c", holderScript, "sh", root, instance])}\n`);
    });
  };

  return {
    instance,
    get current() {
      return live?.dir;
    },
    acquire(signal) {
      if (closed) return Promise.reject(ProviderError.unavailable("the scratch lease is closed"));
      current ??= open(signal).catch((err: unknown) => {
        current = undefined;
        throw err;
      });
      return current.then((h) => h.dir);
    },
    async machine(signal) {
      await this.acquire(signal);
      return live?.machine ?? "";
    },
    async close() {
      closed = true;
      const holder = await current?.catch(() => undefined);
      current = undefined;
      if (!holder || live !== holder) return;
      holder.pipes.stdin.write("remove\n");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        holder.ended,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 5000);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      holder.pipes.close();
    },
  };
}
