import { readFileSync } from "node:fs";
import type { TLSSocket } from "node:tls";
import { Agent, buildConnector } from "undici";

/**
 * How a client checks the server's certificate. The default verifies it
 * against Node's bundled root CAs. Per client only: nothing here touches
 * process-wide TLS settings.
 */
export interface VimTlsOptions {
  /** PEM CA certificates to verify against, instead of Node's bundled roots. */
  ca?: string | Buffer;
  /** A file of PEM CA certificates; read once, when the client is created. */
  caFile?: string;
  /**
   * The SHA-256 thumbprint of the server's certificate (hex, with or without
   * colons, any case). The certificate must match it exactly; its chain and
   * name are then not checked, as with a self-signed vCenter certificate.
   */
  thumbprint?: string;
  /** Do not verify the server at all. Only when asked; never the default. */
  insecure?: boolean;
  /** The name to verify the certificate against, when it differs from the URL's host. */
  serverName?: string;
}

/** The certificate did not match the pinned thumbprint. */
export class ThumbprintMismatchError extends Error {
  override name = "ThumbprintMismatchError";
  readonly code = "ERR_VIM_THUMBPRINT_MISMATCH";
}

/** Normalises a SHA-256 thumbprint to uppercase hex pairs joined by colons. */
export function normalizeThumbprint(thumbprint: string): string {
  const hex = thumbprint.replace(/[^0-9a-f]/gi, "").toUpperCase();
  if (hex.length !== 64) {
    throw new RangeError("a SHA-256 thumbprint has 64 hexadecimal digits");
  }
  return hex.match(/../g)?.join(":") ?? hex;
}

/** Options of the connection pool toward one server. */
export interface VimAgentOptions {
  /** Connections to the server at once. */
  connections: number;
  /** How long an idle connection is kept, in milliseconds. */
  keepAliveTimeoutMs: number;
}

/**
 * Creates the undici Agent a client sends its requests through, with the
 * TLS checks `tls` asks for.
 *
 * @throws Error when `caFile` cannot be read, when both a thumbprint and
 * `insecure` are given, or when the thumbprint is malformed.
 */
export function createVimAgent(tls: VimTlsOptions, options: VimAgentOptions): Agent {
  if (tls.insecure && tls.thumbprint) {
    throw new Error("give a thumbprint or insecure, not both");
  }
  const pinned = tls.thumbprint === undefined ? undefined : normalizeThumbprint(tls.thumbprint);
  const ca = tls.ca ?? (tls.caFile ? readFileSync(tls.caFile) : undefined);
  const verifyChain = !pinned && !tls.insecure;
  const base = buildConnector({
    rejectUnauthorized: verifyChain,
    ...(ca && verifyChain ? { ca } : {}),
    ...(tls.serverName ? { servername: tls.serverName } : {}),
    // A resumed session may not present the certificate again; a pin checks every handshake.
    ...(pinned ? { maxCachedSessions: 0 } : {}),
  });
  const connect: buildConnector.connector = (opts, callback) =>
    base(opts, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error("no socket"), null);
        return;
      }
      if (pinned && opts.protocol === "https:") {
        const fingerprint = (socket as TLSSocket).getPeerCertificate().fingerprint256;
        if (fingerprint !== pinned) {
          socket.destroy();
          callback(
            new ThumbprintMismatchError(
              `the server's certificate ${fingerprint || "(none)"} does not match the pinned thumbprint ${pinned}`,
            ),
            null,
          );
          return;
        }
      }
      callback(null, socket);
    });
  return new Agent({
    connect,
    connections: options.connections,
    keepAliveTimeout: options.keepAliveTimeoutMs,
  });
}
