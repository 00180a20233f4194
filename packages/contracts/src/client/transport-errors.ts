import { Code, ConnectError } from "@connectrpc/connect";
import { callerAbortError } from "../abort.js";
import { clip } from "../clip.js";
import { ProviderError, isErrorLike } from "../errors/provider-error.js";

// Certificate verification failures as Node and OpenSSL name them.
const certificateCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

// What OpenSSL says when the server's first bytes are not TLS at all.
const notTlsCodes = new Set([
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_PACKET_LENGTH_TOO_LONG",
  "ERR_SSL_HTTP_REQUEST",
  "ERR_SSL_RECORD_LAYER_FAILURE",
]);

// Socket failures that mean the server cannot be reached now.
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
]);

/**
 * What kept a call from reaching the service, as the client tells it apart:
 * - "unreachable": no connection (refused, reset, no route, no such host);
 * - "closed": the server closed the connection or the stream without an answer;
 * - "tls-handshake": TLS failed on a certificate, either side's;
 * - "wrong-protocol": the server does not speak HTTP/2, or not TLS on an https endpoint;
 * - "not-served": an RPC server answered, but does not serve this procedure.
 */
export type TransportFailure =
  "unreachable" | "closed" | "tls-handshake" | "wrong-protocol" | "not-served";

const failures = new WeakMap<object, TransportFailure>();

/**
 * The transport failure a client error stands for, when the client named it
 * so; undefined for an error the server sent (a provider's own UNAVAILABLE,
 * say) and for anything else.
 */
export function transportFailureOf(error: unknown): TransportFailure | undefined {
  return typeof error === "object" && error !== null ? failures.get(error) : undefined;
}

function named(failure: TransportFailure, error: ProviderError): ProviderError {
  failures.set(error, failure);
  return error;
}

/** The first error in the cause chain whose code passes `test`. */
function findCause(
  error: unknown,
  test: (code: string) => boolean,
): { message: string; code: string } | undefined {
  for (let e = error, depth = 0; isErrorLike(e) && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === "string" && test(e.code)) return { message: e.message, code: e.code };
  }
  return undefined;
}

const isTlsCode = (code: string) =>
  certificateCodes.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_");

/** Whom a call went to, for the messages of `classifyCallError`. */
export interface CallTarget {
  /** Names the server: "the provider at https://10.0.0.5:9443". Default: "the server". */
  peer?: string;
  /** The endpoint's URL, to tell plaintext from TLS. */
  endpoint?: string;
  /** "virtrigaud.provider.v1.ProviderService/Validate". */
  procedure?: string;
}

/**
 * Names why a call failed where Connect says it vaguely. A call the caller's
 * own signal stopped is CANCELED (DEADLINE_EXCEEDED for a timeout signal).
 * At the transport:
 * - a TLS handshake that fails either way (a server certificate the client
 *   does not trust, a client certificate the server refuses) is
 *   UNAUTHENTICATED, which retrying does not fix;
 * - a socket that cannot connect or breaks, and a stream the server cancelled
 *   although the caller did not (how TLS 1.3 servers turn away a client
 *   certificate after the handshake), are UNAVAILABLE;
 * - a server that does not speak HTTP/2 (an HTTP/1.1 server answers the
 *   HTTP/2 preface with an HTTP/1.1 error, which Node reports as a protocol
 *   error), or not TLS at an https endpoint, or no HTTP/2 over TLS, is
 *   UNSUPPORTED;
 * - an RPC server that answers "unimplemented" without an error detail (the
 *   HTTP 404 of a Connect server of another service), or that answers with a
 *   content type that is not Connect's or gRPC's (a web page), is UNSUPPORTED.
 *
 * `transportFailureOf` tells these apart afterwards.
 */
export function classifyCallError(
  thrown: unknown,
  callerSignal: AbortSignal | undefined,
  target: CallTarget = {},
): unknown {
  if (callerSignal?.aborted) return callerAbortError(callerSignal);
  if (!(thrown instanceof ConnectError)) return thrown;
  const peer = target.peer ?? "the server";
  const cause = thrown.cause;
  const tls = findCause(cause, isTlsCode);
  if (tls && notTlsCodes.has(tls.code)) {
    return named(
      "wrong-protocol",
      ProviderError.unsupported(
        `${peer} does not answer in TLS: is it a plaintext server, with an http:// endpoint?`,
        { cause: thrown },
      ),
    );
  }
  if (tls?.code === "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL") {
    return named(
      "wrong-protocol",
      ProviderError.unsupported(`${peer} speaks TLS but not HTTP/2 (it offers no "h2")`, {
        cause: thrown,
      }),
    );
  }
  if (tls) {
    return named(
      "tls-handshake",
      ProviderError.unauthenticated(`the TLS handshake with ${peer} failed: ${tls.message}`, {
        cause: thrown,
      }),
    );
  }
  const unreachable = findCause(cause, (code) => unreachableCodes.has(code));
  if (unreachable) {
    return named(
      "unreachable",
      ProviderError.unavailable(`${peer} cannot be reached: ${unreachable.message}`, {
        cause: thrown,
      }),
    );
  }
  if (findCause(cause, (code) => code === "ERR_HTTP2_ERROR")) {
    return named(
      "wrong-protocol",
      ProviderError.unsupported(
        `${peer} does not speak HTTP/2: is it an HTTP/1.1 server (a web server, an ops or metrics port) or no RPC server at all?`,
        { cause: thrown },
      ),
    );
  }
  // What follows is about servers that sent no error of this SDK's model.
  if (thrown.details.length) return thrown;
  const procedure = target.procedure ?? "the procedure";
  if (thrown.code === Code.Unimplemented) {
    return named(
      "not-served",
      ProviderError.unsupported(
        `${peer} does not serve ${procedure} (it answered ${clip(thrown.rawMessage, 100)}): is it the endpoint of another service?`,
        { cause: thrown },
      ),
    );
  }
  const contentType = /^unsupported content type (.*)$/s.exec(thrown.rawMessage);
  if (contentType) {
    return named(
      "not-served",
      ProviderError.unsupported(
        `${peer} is no Connect or gRPC server: it answered ${procedure} with content type ${clip(contentType[1] ?? "", 100)}`,
        { cause: thrown },
      ),
    );
  }
  if (thrown.code === Code.Canceled && !callerSignal?.aborted) {
    const hint = target.endpoint?.startsWith("http:")
      ? "is it a TLS server, with an https:// endpoint?"
      : "for example, it refused the client certificate";
    return named(
      "closed",
      ProviderError.unavailable(`${peer} closed the connection without an answer (${hint})`, {
        cause: thrown,
      }),
    );
  }
  return thrown;
}
