import { isLoopbackHost } from "./loopback.js";
import { type CompiledServeOptions, ServeConfigError, type ServeOptions } from "./serve-options.js";

/**
 * A provider accepts calls only from the managers it trusts: over TLS it
 * requires client certificates (`tls.clientCaFile`, the CA of the managers'
 * certificates). Serving TLS to any client is allowed only when asked
 * (`allowAnyClient`) and only on a loopback address, as plaintext is: off
 * this machine it would be an open door with encryption.
 *
 * @throws ServeConfigError when the options break that rule.
 */
export function checkProviderClients(options: ServeOptions, config: CompiledServeOptions): void {
  const { host, port } = config.listen;
  if (options.allowAnyClient && !isLoopbackHost(host)) {
    throw new ServeConfigError(
      `refusing --allow-any-client on ${host || "every interface"} (port ${port}): a provider serves callers without a client certificate only on a loopback address; give --tls-client-ca, the CA of the managers' client certificates`,
    );
  }
  if (config.tls && !config.tls.clientCaFile && !options.allowAnyClient) {
    throw new ServeConfigError(
      "refusing TLS without client certificates: a provider accepts calls only from the managers it trusts; give --tls-client-ca, the CA of the managers' client certificates (or, on a loopback address only, --allow-any-client)",
    );
  }
}
