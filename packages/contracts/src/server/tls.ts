import { readFileSync, statSync } from "node:fs";
import type { SecureContextOptions } from "node:tls";
import { createSecureContext } from "node:tls";
import type { Logger } from "../logging/create-logger.js";

/** Certificate files of a TLS server. */
export interface TlsFiles {
  /** PEM certificate chain of the server. */
  certFile: string;
  /** PEM private key of the server. */
  keyFile: string;
  /**
   * PEM bundle of the CAs that sign client certificates. When set, the
   * server requires a client certificate signed by one of them (mutual TLS).
   */
  clientCaFile?: string | undefined;
}

/**
 * Reads the files into TLS options.
 *
 * @throws Error when a file cannot be read or the certificate and key do not match.
 */
export function loadTlsFiles(files: TlsFiles): SecureContextOptions {
  const options: SecureContextOptions = {
    cert: readFileSync(files.certFile),
    key: readFileSync(files.keyFile),
    ...(files.clientCaFile ? { ca: readFileSync(files.clientCaFile) } : {}),
  };
  createSecureContext(options); // fails here, not at the first handshake, when they do not match
  return options;
}

function fingerprint(files: TlsFiles): string {
  return [files.certFile, files.keyFile, files.clientCaFile]
    .filter((f): f is string => Boolean(f))
    .map((f) => {
      try {
        const s = statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return "missing";
      }
    })
    .join("|");
}

/**
 * Polls the files (following symlinks, as Kubernetes secret mounts swap
 * them) and calls `apply` with the new material when they change. A change
 * that does not load (a half-written file, a key that does not match) is
 * logged and retried at the next poll; the server keeps the old material.
 *
 * @returns a function that stops watching.
 */
export function watchTlsFiles(
  files: TlsFiles,
  intervalMs: number,
  logger: Logger,
  apply: (options: SecureContextOptions) => void,
): () => void {
  let seen = fingerprint(files);
  const timer = setInterval(() => {
    const now = fingerprint(files);
    if (now === seen) return;
    try {
      apply(loadTlsFiles(files));
      seen = now;
      logger.info({ certFile: files.certFile }, "TLS certificates reloaded");
    } catch (err) {
      logger.warn({ err }, "TLS certificates changed but do not load; keeping the current ones");
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
