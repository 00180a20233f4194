import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import {
  type Clock,
  type Logger,
  ProviderError,
  type Secret,
  systemClock,
} from "@virtrigaud/contracts";
import ssh2 from "ssh2";
import type { ShellPipes } from "./command-session.js";
import type { HostFile, HostTransport } from "./host-transport.js";
import { shellCommand } from "./shell-quote.js";
import { type HostKeyVerdict, parseKnownHosts, verifyHostKey } from "./known-hosts.js";

type Client = InstanceType<typeof ssh2.Client>;
type Sftp = Parameters<Parameters<Client["sftp"]>[0]>[1];

/** Options of `createSshTransport`. */
export interface SshTransportOptions {
  host: string;
  /** Default: 22. */
  port?: number;
  username: string;
  /** A private key (OpenSSH or PEM). One of privateKey and password is required. */
  privateKey?: Secret;
  /** The private key's passphrase, when it has one. */
  passphrase?: Secret;
  password?: Secret;
  /**
   * The known_hosts file the host key is checked against. Required unless
   * `insecureIgnoreHostKey` is set; read at each connect, so an edit applies to
   * the next connection.
   */
  knownHostsFile?: string;
  /** Accept any host key. For test rigs only: it allows a man in the middle. */
  insecureIgnoreHostKey?: boolean;
  /** How long a connect and authentication may take. Default: 10 s. */
  connectTimeoutMs?: number;
  /** Keepalive probes, so a dead peer is noticed. Default: every 15 s, 3 missed. */
  keepaliveIntervalMs?: number;
  /** First wait after a failed connect, doubled per failure up to `maxBackoffMs`. Default: 200 ms. */
  initialBackoffMs?: number;
  /** Default: 5 s. */
  maxBackoffMs?: number;
  /** Command the shells run. Default: `exec /bin/sh`. */
  shellCommand?: string;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Whether ssh2's optional native crypto (its install script builds it with
 * node-gyp) loaded. Without it, ssh2 makes a cipher object per packet:
 * reading a file over SFTP took about 6.6 CPU-seconds per GiB against 4.4
 * with it (bench/migration/layers/ssh.mjs).
 */
export const sshNativeCrypto: boolean = (() => {
  try {
    const crypto = createRequire(import.meta.url)("ssh2/lib/protocol/crypto.js") as {
      bindingAvailable?: boolean;
    };
    return crypto.bindingAvailable === true;
  } catch {
    return false;
  }
})();

/** SFTP requests of one range: each at most what every server takes in one packet. */
// OpenSSH's sftp-server takes up to 256 KiB less 1 KiB per read or write
// (limits@openssh.com): a larger piece would be split and sent in turn.
const sftpPiece = 255 * 1024;

/** [start, length] of the pieces of a range of `length` bytes. */
function pieces(length: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < length; start += sftpPiece) {
    out.push([start, Math.min(sftpPiece, length - start)]);
  }
  return out;
}

/**
 * A file open over SFTP. A range goes out as pieces all at once (one round
 * trip, not one per packet). SFTP's errors are mapped: a missing file is
 * NOT_FOUND, anything else UNAVAILABLE.
 */
async function openSftpFile(session: Sftp, path: string, mode: "r" | "r+"): Promise<HostFile> {
  const failed = (err: unknown): ProviderError => {
    const code = (err as { code?: number }).code;
    return code === 2
      ? ProviderError.notFound(`${path} does not exist on the host`, { cause: err })
      : ProviderError.unavailable(`cannot use ${path} on the host: ${(err as Error).message}`, {
          cause: err,
        });
  };
  const handle = await new Promise<Buffer>((resolve, reject) =>
    session.open(path, mode, (err, h) => (err ? reject(failed(err)) : resolve(h))),
  );
  return {
    async read(offset, length) {
      const buffer = Buffer.alloc(length);
      const parts = pieces(length);
      const counts = await Promise.all(
        parts.map(
          ([start, size]) =>
            new Promise<number>((resolve, reject) => {
              session.read(handle, buffer, start, size, offset + start, (err, n) => {
                // End of file is an error in SFTP; here it is a short read.
                if (!err) resolve(n);
                else if ((err as Error & { code?: number }).code === 1) resolve(0);
                else reject(failed(err));
              });
            }),
        ),
      );
      // Bytes up to the first short piece: the file ends there.
      let total = 0;
      for (const [i, [, size]] of parts.entries()) {
        total += counts[i] ?? 0;
        if ((counts[i] ?? 0) < size) break;
      }
      return buffer.subarray(0, total);
    },
    async write(offset, data) {
      await Promise.all(
        pieces(data.length).map(
          ([start, size]) =>
            new Promise<void>((resolve, reject) => {
              session.write(handle, data, start, size, offset + start, (err) =>
                err ? reject(failed(err)) : resolve(),
              );
            }),
        ),
      );
    },
    close() {
      return new Promise<void>((resolve) => {
        try {
          session.close(handle, () => resolve());
        } catch {
          // The session is gone, and the handle with it.
          resolve();
        }
      });
    },
  };
}

/**
 * One long-lived SSH connection to the libvirt host, with channels
 * multiplexed on it: shells (see command-session.ts) and one SFTP channel for
 * documents. When the connection drops, the next use reconnects, waiting
 * between failed attempts with an exponential backoff.
 *
 * @throws Error when neither a private key nor a password is given, or when
 * no known_hosts file is given without `insecureIgnoreHostKey`.
 */
export function createSshTransport(options: SshTransportOptions): HostTransport {
  if (!options.privateKey && !options.password) {
    throw new Error("SSH needs a private key or a password");
  }
  if (!options.knownHostsFile && !options.insecureIgnoreHostKey) {
    throw new Error("SSH needs a known_hosts file, or the explicit insecure opt-out");
  }
  const port = options.port ?? 22;
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const initialBackoff = options.initialBackoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const description = `ssh ${options.username}@${options.host}:${port}`;

  let client: Promise<Client> | undefined;
  let sftp: Promise<Sftp> | undefined;
  let failures = 0;
  let nextAttemptAt = 0;
  let closed = false;

  const connectOnce = async (): Promise<Client> => {
    const wait = nextAttemptAt - clock.now();
    if (wait > 0) await clock.sleep(wait);
    let knownHosts: ReturnType<typeof parseKnownHosts> = [];
    if (!options.insecureIgnoreHostKey && options.knownHostsFile) {
      const text = await readFile(options.knownHostsFile, "utf8").catch((err: unknown) => {
        throw ProviderError.unavailable(`cannot read known_hosts ${options.knownHostsFile}`, {
          cause: err,
        });
      });
      knownHosts = parseKnownHosts(text);
    }
    let verdict: HostKeyVerdict = "trusted";
    const conn = new ssh2.Client();
    return new Promise<Client>((resolve, reject) => {
      const onError = (err: Error & { level?: string }) => {
        conn.removeListener("ready", onReady);
        conn.end();
        if (verdict !== "trusted") {
          reject(
            ProviderError.unauthenticated(
              verdict === "unknown-host"
                ? `${options.host}:${port} is not in known_hosts; refusing to connect`
                : `the host key of ${options.host}:${port} is ${verdict === "revoked" ? "revoked" : "not the one in known_hosts"}; refusing to connect`,
              { cause: err },
            ),
          );
        } else if (err.level === "client-authentication") {
          reject(
            ProviderError.unauthenticated(
              `${options.host}:${port} refused the SSH credentials of ${options.username}`,
              { cause: err },
            ),
          );
        } else {
          reject(
            ProviderError.unavailable(`cannot reach ${description}: ${err.message}`, {
              cause: err,
            }),
          );
        }
      };
      const onReady = () => {
        conn.removeListener("error", onError);
        // Small commands and answers: without this, Nagle's algorithm holds
        // each command until the host's delayed ACK, about 40 ms a round trip.
        conn.setNoDelay(true);
        conn.on("error", (err: Error) => logger?.warn({ err }, "SSH connection failed"));
        resolve(conn);
      };
      conn.once("error", onError);
      conn.once("ready", onReady);
      conn.on("close", () => {
        // Channels on it end by themselves; the next use reconnects.
        if (client && current === conn) {
          client = undefined;
          sftp = undefined;
          logger?.info({ host: options.host, port }, "SSH connection closed");
        }
      });
      conn.connect({
        host: options.host,
        port,
        username: options.username,
        ...(options.privateKey ? { privateKey: options.privateKey.reveal() } : {}),
        ...(options.passphrase ? { passphrase: options.passphrase.reveal() } : {}),
        ...(options.password ? { password: options.password.reveal() } : {}),
        readyTimeout: options.connectTimeoutMs ?? 10_000,
        keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          if (options.insecureIgnoreHostKey) return true;
          verdict = verifyHostKey(knownHosts, options.host, port, key);
          return verdict === "trusted";
        },
      });
    });
  };

  let current: Client | undefined;
  const connect = (): Promise<Client> => {
    if (closed) return Promise.reject(ProviderError.unavailable("the SSH transport is closed"));
    client ??= connectOnce().then(
      (conn) => {
        failures = 0;
        nextAttemptAt = 0;
        current = conn;
        logger?.info(
          { host: options.host, port, nativeCrypto: sshNativeCrypto },
          "SSH connection ready",
        );
        return conn;
      },
      (err: unknown) => {
        failures++;
        nextAttemptAt = clock.now() + Math.min(maxBackoff, initialBackoff * 2 ** (failures - 1));
        client = undefined;
        throw err;
      },
    );
    return client;
  };

  /**
   * Opens something (a channel, SFTP) on the connection with `use`. A
   * connection it fails on is dropped, and `use` is tried once more on a new
   * one: a connection cut between calls is noticed here, often before its
   * close event, and opening a channel has no effect on the host, so the retry
   * is always safe. ssh2 throws rather than calls back when the socket is
   * already gone ("Not connected"); both count as failures.
   */
  const onConnection = async <T>(
    use: (conn: Client, done: (err: Error | undefined, value?: T) => void) => void,
  ): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const conn = await connect();
      try {
        return await new Promise<T>((resolve, reject) => {
          use(conn, (err, value) => (err ? reject(err) : resolve(value as T)));
        });
      } catch (err) {
        if (current === conn) {
          client = undefined;
          sftp = undefined;
        }
        conn.end();
        if (attempt < 2) continue;
        throw ProviderError.unavailable(`${description}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  };

  const openSftp = (): Promise<Sftp> => {
    sftp ??= onConnection<Sftp>((conn, done) => conn.sftp((err, s) => done(err, s))).catch(
      (err: unknown) => {
        sftp = undefined;
        throw err;
      },
    );
    return sftp;
  };

  return {
    description,
    async openShell(signal) {
      signal?.throwIfAborted();
      const channel = await onConnection<ssh2.ClientChannel>((conn, done) =>
        conn.exec(options.shellCommand ?? "exec /bin/sh", (err, ch) => done(err, ch)),
      );
      const pipes: ShellPipes = {
        stdin: channel,
        stdout: channel,
        stderr: channel.stderr,
        close: () => channel.close(),
      };
      return pipes;
    },
    async openTerminal(argv, signal) {
      signal?.throwIfAborted();
      // A pty on the host: the terminal's hangup at close ends the program there.
      const channel = await onConnection<ssh2.ClientChannel>((conn, done) =>
        conn.exec(shellCommand(argv), { pty: { term: "vt100" } }, (err, ch) => done(err, ch)),
      );
      const pipes: ShellPipes = {
        stdin: channel,
        stdout: channel,
        stderr: channel.stderr,
        close: () => channel.close(),
      };
      return pipes;
    },
    async openTcp(address, port, signal) {
      signal?.throwIfAborted();
      return onConnection<ssh2.ClientChannel>((conn, done) =>
        conn.forwardOut("127.0.0.1", 0, address, port, (err, ch) => done(err, ch)),
      );
    },
    async writeFile(path, data, signal) {
      signal?.throwIfAborted();
      const session = await openSftp();
      await new Promise<void>((resolve, reject) => {
        session.writeFile(path, data, { mode: 0o600 }, (err) => {
          if (err) {
            sftp = undefined;
            reject(
              ProviderError.unavailable(`cannot write ${path} on ${description}: ${err.message}`, {
                cause: err,
              }),
            );
          } else resolve();
        });
      });
    },
    async openFile(path, mode, signal) {
      signal?.throwIfAborted();
      return openSftpFile(await openSftp(), path, mode);
    },
    close() {
      closed = true;
      const pending = client;
      client = undefined;
      sftp = undefined;
      return (pending ?? Promise.resolve(undefined)).then(
        (conn) => {
          conn?.end();
        },
        () => {},
      );
    },
  };
}
