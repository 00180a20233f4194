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
   * Writes a file on the host (mode 0600), replacing it.
   *
   * @throws ProviderError UNAVAILABLE when the host cannot be reached.
   */
  writeFile(path: string, data: string | Buffer, signal?: AbortSignal): Promise<void>;
  /**
   * Reads up to `length` bytes of a file on the host from `offset` (fewer at
   * its end), without a shell: the data path of disk exports.
   *
   * @throws ProviderError UNAVAILABLE when the host cannot be reached, NOT_FOUND when the file is missing.
   */
  readRange(path: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  /**
   * Writes `data` into an existing file on the host at `offset`, leaving the
   * rest as it is: the data path of disk imports.
   *
   * @throws ProviderError UNAVAILABLE when the host cannot be reached, NOT_FOUND when the file is missing.
   */
  writeRange(path: string, offset: number, data: Buffer, signal?: AbortSignal): Promise<void>;
  /** Closes the connection. */
  close(): Promise<void>;
}
