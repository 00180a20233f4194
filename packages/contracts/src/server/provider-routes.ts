import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { type Capabilities, type ConsoleRequest, ProviderService } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import type { Logger } from "../logging/create-logger.js";
import type { Provider, ProviderContext, ProviderMethod, ProviderMethodName } from "../provider.js";
import { type CallInfo, callInfoKey } from "./call-context.js";
import { serveConsole } from "./console-route.js";
import type { DiskTransfers, TransferMethodName } from "../transfer/disk-transfers.js";

/** A provider's view of one call; a class so every call's context has one shape. */
class CallContext implements ProviderContext {
  readonly signal: AbortSignal;
  readonly deadline: number | undefined;
  readonly requestId: string;
  readonly #info: CallInfo | undefined;

  constructor(
    ctx: HandlerContext,
    readonly method: ProviderMethodName,
    private readonly fallback: Logger,
  ) {
    this.#info = ctx.values.get(callInfoKey);
    const timeoutMs = ctx.timeoutMs();
    this.signal = ctx.signal;
    this.deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    this.requestId = this.#info?.requestId ?? "";
  }

  get logger(): Logger {
    return this.#info?.logger ?? this.fallback;
  }
}

/**
 * The ProviderService implementation that hands each call to the provider
 * with a ProviderContext. GetCapabilities is answered from the capabilities
 * read at start-up, which the capability gate also enforces. Console, a
 * stream both ways, goes through `serveConsole`, which checks its first message.
 */
export function createProviderServiceImpl(
  provider: Provider & Partial<Pick<DiskTransfers["provider"], TransferMethodName>>,
  capabilities: Capabilities,
  logger: Logger,
): ServiceImpl<typeof ProviderService> {
  const impl: Record<string, (request: never, ctx: HandlerContext) => unknown> = {};
  for (const { localName } of ProviderService.methods) {
    const name = localName as ProviderMethodName;
    if (name === "console") {
      const providerConsole = provider.console?.bind(provider);
      impl[name] = (requests: AsyncIterable<ConsoleRequest>, ctx) =>
        serveConsole(providerConsole, capabilities, requests, new CallContext(ctx, name, logger));
      continue;
    }
    const method = provider[name] as ProviderMethod<typeof name> | undefined;
    impl[name] =
      name === "getCapabilities"
        ? () => ({ capabilities })
        : method
          ? (request, ctx) => method.call(provider, request, new CallContext(ctx, name, logger))
          : () => {
              throw ProviderError.unsupported(`${name} is not supported by this provider`);
            };
  }
  return impl as unknown as ServiceImpl<typeof ProviderService>;
}
