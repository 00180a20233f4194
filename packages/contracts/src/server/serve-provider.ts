import { create } from "@bufbuild/protobuf";
import {
  type Capabilities,
  CapabilitiesSchema,
  GetCapabilitiesRequestSchema,
  GetCapabilitiesResponseSchema,
  ProviderService,
  ValidateRequestSchema,
} from "@virtrigaud/proto";
import { untilAborted } from "../abort.js";
import { ProviderError } from "../errors/provider-error.js";
import { type Logger, createLogger } from "../logging/create-logger.js";
import type { Provider, ProviderContext, ProviderMethodName } from "../provider.js";
import { checkCapabilityAgreement } from "./capabilities.js";
import { createCapabilityGuard } from "./interceptors/capability-gate.js";
import { createProviderServiceImpl } from "./provider-routes.js";
import { checkProviderClients } from "./provider-clients.js";
import { ServeConfigError, type ServeOptions, compileServeOptions } from "./serve-options.js";
import { type ServicesServer, serveServices, servedService } from "./serve-services.js";
import { serveTransfers } from "../transfer/serve-transfers.js";
import { useFastTextEncoding } from "../wire/text-encoding.js";

/** A running provider server. */
export interface ProviderServer extends ServicesServer {
  /**
   * The capabilities served: the provider's, with disk_export_share and
   * disk_import_pull as the SDK provides them.
   */
  readonly capabilities: Capabilities;
  /** The base URL of the transfer listener, with `transferListen`. */
  readonly transferUrl: string | undefined;
}

async function readCapabilities(provider: Provider, ctx: ProviderContext): Promise<Capabilities> {
  const answer = await untilAborted(
    provider.getCapabilities(create(GetCapabilitiesRequestSchema), ctx),
    ctx.signal,
  ).catch((err: unknown) => {
    throw new ServeConfigError(
      `the provider's getCapabilities failed: ${ProviderError.from(err).message}`,
      {
        cause: err,
      },
    );
  });
  const response = create(GetCapabilitiesResponseSchema, answer);
  return response.capabilities ?? create(CapabilitiesSchema);
}

/**
 * Serves a provider: `serveServices` with ProviderService, its health probe
 * being the provider's Validate, and capability enforcement: the methods
 * present must agree with the capabilities the provider declares, which are
 * read once at start-up and answer GetCapabilities, and any RPC or option
 * not declared answers UNSUPPORTED before the provider sees it.
 *
 * @throws ServeConfigError when the options are invalid (no TLS without
 * `insecure`, plaintext off loopback, TLS without client certificates unless
 * `allowAnyClient` on loopback, a bad address), when getCapabilities fails or does not answer
 * within `healthCheckTimeoutMs`, or when the provider's methods disagree with
 * the capabilities it declares.
 */
export async function serveProvider(
  provider: Provider,
  options: ServeOptions = {},
): Promise<ProviderServer> {
  const config = compileServeOptions(options);
  checkProviderClients(options, config);
  useFastTextEncoding();
  const logger: Logger = options.logger ?? createLogger({ name: "virtrigaud-provider" });
  const internalContext = (method: ProviderMethodName, signal: AbortSignal): ProviderContext => ({
    signal,
    deadline: undefined,
    requestId: `internal-${method}`,
    method,
    logger,
  });

  const declared = await readCapabilities(
    provider,
    internalContext("getCapabilities", AbortSignal.timeout(config.healthCheckTimeoutMs)),
  );
  const agreement = checkCapabilityAgreement(provider, declared);
  if (agreement.errors.length) {
    throw new ServeConfigError(
      `the provider disagrees with its capabilities: ${agreement.errors.join("; ")}`,
    );
  }
  for (const warning of agreement.warnings) logger.warn(warning);

  const transfers = await serveTransfers(provider, declared, config, options, logger);
  const { capabilities } = transfers;

  let server: ServicesServer;
  try {
    server = await serveServices({
      ...options,
      logger,
      serviceName:
        options.serviceName ?? `virtrigaud-provider-${capabilities.providerType || "unknown"}`,
      role: "provider",
      services: [
        servedService(
          ProviderService,
          createProviderServiceImpl(transfers.provider, capabilities, logger),
          [createCapabilityGuard(capabilities)],
        ),
      ],
      readiness: (signal) =>
        provider.validate(create(ValidateRequestSchema), internalContext("validate", signal)),
      describe: {
        providerType: capabilities.providerType,
        ...(transfers.url ? { transfers: transfers.url } : {}),
      },
    });
  } catch (err) {
    await transfers.stop();
    throw err;
  }
  // However the server stops (close(), or a signal's drain), the transfers stop with it.
  const stopped = server.closed.then(() => transfers.stop());
  const close = server.close.bind(server);
  let closing: Promise<void> | undefined;
  return Object.assign(server, {
    capabilities,
    transferUrl: transfers.url,
    // Once, as the server's own close: every call answers the same promise.
    close: () => (closing ??= close().then(() => stopped)),
    closed: stopped,
  });
}
