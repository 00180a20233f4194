import { Code, ConnectError } from "@connectrpc/connect";
import { callerAbortError } from "../abort.js";
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

/** The first error in the cause chain whose code passes `test`. */
function findCause(
  error: unknown,
  test: (code: string) => boolean,
): { message: string } | undefined {
  for (let e = error, depth = 0; isErrorLike(e) && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === "string" && test(e.code)) return e;
  }
  return undefined;
}

const isTlsCode = (code: string) =>
  certificateCodes.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_");

/**
 * Names why a call failed where Connect says it vaguely. A call the caller's
 * own signal stopped is CANCELED (DEADLINE_EXCEEDED for a timeout signal).
 * At the transport, where Connect reports
 * it vaguely: a TLS handshake that fails either way (a server certificate
 * the client does not trust, a client certificate the server refuses)
 * becomes UNAUTHENTICATED, which retrying does not fix; a stream the server
 * cancelled although the caller did not (how TLS 1.3 servers turn away a
 * client certificate after the handshake) becomes UNAVAILABLE, and so does
 * a socket that cannot connect or breaks. `peer` names the server in these
 * messages: "the provider at https://10.0.0.5:9443".
 */
export function classifyCallError(
  thrown: unknown,
  callerSignal: AbortSignal | undefined,
  peer = "the server",
): unknown {
  if (callerSignal?.aborted) return callerAbortError(callerSignal);
  if (!(thrown instanceof ConnectError)) return thrown;
  const tls = findCause(thrown.cause, isTlsCode);
  if (tls) {
    return ProviderError.unauthenticated(`the TLS handshake with ${peer} failed: ${tls.message}`, {
      cause: thrown,
    });
  }
  const unreachable = findCause(thrown.cause, (code) => unreachableCodes.has(code));
  if (unreachable) {
    return ProviderError.unavailable(`${peer} cannot be reached: ${unreachable.message}`, {
      cause: thrown,
    });
  }
  if (thrown.code === Code.Canceled && !callerSignal?.aborted && !thrown.details.length) {
    return ProviderError.unavailable(
      `${peer} closed the connection (for example, it refused the client certificate)`,
      { cause: thrown },
    );
  }
  return thrown;
}
