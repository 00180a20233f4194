import type { Duplex } from "node:stream";
import type { ShellPipes } from "./command-session.js";

/**
 * How the provider reaches the libvirt host: shells to run commands in and a
 * way to write documents (domain XML, cloud-init) as files. Implemented over
 * SSH (createSshTransport) and on the local machine (createLocalTransport).
 */
export interface HostTransport {
  /** For messages: `ssh root@host:22` or `local`. */
  readonly description: string;
  /**
   * Starts a `sh` on the host reading commands on standard input.
   *
   * @throws ProviderError UNAVAILABLE when the host cannot be reached,
   * UNAUTHENTICATED when it refused the credentials or its host key is not the
   * known one.
   */
  openShell(signal?: AbortSignal): Promise<ShellPipes>;
  /**
   * Runs a program (each argument quoted: no shell syntax reaches the host's
   * shell) on a terminal of its own: `virsh console` wants one. What it
   * prints, standard error included, comes out of `stdout`; `stderr` stays
   * empty. `close` hangs the terminal up, which ends the program.
   *
   * @throws ProviderError as `openShell`.
   */
  openTerminal(argv: readonly string[], signal?: AbortSignal): Promise<ShellPipes>;
  /**
   * Opens a TCP connection to `address`:`port` as the host sees it (over SSH,
   * a direct-tcpip channel, as `ssh -W` does): a VM's VNC display that
   * listens on the host's loopback.
   *
   * @throws ProviderError UNAVAILABLE when the host or the port cannot be reached.
   */
  openTcp(address: string, port: number, signal?: AbortSignal): Promise<Duplex>;
  /**
   * Writes a file on the host (mode 0600), replacing it.
   *
   * @throws ProviderError UNAVAILABLE when the host cannot be reached.
   */
  writeFile(path: string, data: string | Buffer, signal?: AbortSignal): Promise<void>;
  /**
   * Opens a file on the host for positional reads (`r`) or reads and writes
   * of an existing file (`r+`), without a shell: the data path of disk
   * transfers. The handle stays open until closed, so a chunk costs one
   * round trip.
   *
   * @throws ProviderError UNAVAILABLE when the host cannot be reached, NOT_FOUND when the file is missing.
   */
  openFile(path: string, mode: "r" | "r+", signal?: AbortSignal): Promise<HostFile>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/** A file open on the host (see HostTransport.openFile). */
export interface HostFile {
  /**
   * Reads up to `length` bytes from `offset`; fewer at the end of the file.
   *
   * @throws ProviderError UNAVAILABLE when the read fails or the connection dropped.
   */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * Writes `data` at `offset`, leaving the rest of the file as it is.
   *
   * @throws ProviderError UNAVAILABLE when the write fails or the connection dropped.
   */
  write(offset: number, data: Buffer): Promise<void>;
  /** Closes the handle; never throws. */
  close(): Promise<void>;
}
