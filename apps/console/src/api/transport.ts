import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

/**
 * The manager's API on the page's own origin (the manager serves the
 * console), in the binary Connect format. Each call carries the token
 * `token()` gives, when there is one; a call with a token that the manager
 * answers UNAUTHENTICATED calls `onUnauthenticated` (the token was revoked).
 */
export function createManagerTransport(
  token: () => string | undefined,
  onUnauthenticated: () => void,
): Transport {
  const bearer: Interceptor = (next) => async (request) => {
    const value = token();
    if (value) request.header.set("authorization", `Bearer ${value}`);
    try {
      return await next(request);
    } catch (err) {
      if (value && ConnectError.from(err).code === Code.Unauthenticated) onUnauthenticated();
      throw err;
    }
  };
  return createConnectTransport({
    baseUrl: window.location.origin,
    useBinaryFormat: true,
    interceptors: [bearer],
  });
}
