import type {
  ProviderMethod,
  ProviderMethodName,
  ProviderRequest,
  ProviderResponse,
} from "../provider.js";

/**
 * One RPC of a provider as a plain function of the provider's own context
 * (its connections, stores, settings), the request and the call's signal:
 * the layout of the project's providers, one file per RPC and a table of
 * them, which keeps each operation testable without a `ProviderContext`.
 */
export type ProviderOperation<C, M extends ProviderMethodName> = (
  ctx: C,
  request: ProviderRequest<M>,
  signal: AbortSignal,
) => Promise<ProviderResponse<M>>;

/**
 * Binds a provider's operations to its context: `method(operation)` is the
 * `ProviderMethod` that runs the operation with `ctx` and the call's signal.
 * An operation that throws before it returns its promise fails the call
 * just as one that rejects.
 *
 * @example
 * const method = operationBinder(ctx);
 * return { create: method(createVm), describe: method(describe), ... };
 */
export function operationBinder<C>(
  ctx: C,
): <M extends ProviderMethodName>(operation: ProviderOperation<C, M>) => ProviderMethod<M> {
  return (operation) =>
    (request, { signal }) =>
      new Promise((resolve) => resolve(operation(ctx, request, signal)));
}
