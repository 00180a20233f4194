import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { type Capabilities, ProviderService } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import type { Logger } from "../logging/create-logger.js";
import type { Provider, ProviderContext, ProviderMethod, ProviderMethodName } from "../provider.js";
import { callInfoKey } from "./call-context.js";

function providerContext(
  ctx: HandlerContext,
  method: ProviderMethodName,
  fallback: Logger,
): ProviderContext {
  const info = ctx.values.get(callInfoKey);
  const timeoutMs = ctx.timeoutMs();
  return {
    signal: ctx.signal,
    deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
    requestId: info?.requestId ?? "",
    method,
    get logger() {
      return info?.logger ?? fallback;
    },
  };
}

/**
 * The ProviderService implementation that hands each call to the provider
 * with a ProviderContext. GetCapabilities is answered from the capabilities
 * read at start-up, which the capability gate also enforces.
 */
export function createProviderServiceImpl(
  provider: Provider,
  capabilities: Capabilities,
  logger: Logger,
): ServiceImpl<typeof ProviderService> {
  const impl: Record<string, (request: never, ctx: HandlerContext) => unknown> = {};
  for (const { localName } of ProviderService.methods) {
    const name = localName as ProviderMethodName;
    const method = provider[name] as ProviderMethod<typeof name> | undefined;
    impl[name] =
      name === "getCapabilities"
        ? () => ({ capabilities })
        : method
          ? (request, ctx) => method.call(provider, request, providerContext(ctx, name, logger))
          : () => {
              throw ProviderError.unsupported(`${name} is not supported by this provider`);
            };
  }
  return impl as unknown as ServiceImpl<typeof ProviderService>;
}
