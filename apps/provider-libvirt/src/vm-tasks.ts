import { ProviderError, type TaskRef } from "@virtrigaud/contracts";
import type { DomainRef, DomainView } from "./inventory/inventory.js";
import type { LibvirtContext } from "./libvirt-context.js";

/**
 * Holds the VM for `what` until the returned release is called.
 *
 * @throws ProviderError RETRYABLE while another operation holds it.
 */
export function exclusive(ctx: LibvirtContext, uuid: string, what: string): () => void {
  const release = ctx.perVm.tryAcquire(uuid, what);
  if (!release) {
    throw ProviderError.retryable(`vm ${uuid} is busy: ${ctx.perVm.holder(uuid) ?? ""}`, {
      retryAfterMs: 500,
    });
  }
  return release;
}

/**
 * Runs `work` as a task ("<what> <name>") while holding the VM.
 *
 * @throws ProviderError RETRYABLE while another operation holds the VM.
 */
export function vmTask(
  ctx: LibvirtContext,
  view: DomainView,
  what: string,
  work: (signal: AbortSignal) => Promise<void>,
): TaskRef {
  const release = exclusive(ctx, view.info.uuid, what);
  try {
    return ctx.tasks.start(`${what} ${view.info.name}`, async ({ signal }) => {
      try {
        await work(signal);
      } finally {
        release();
      }
    });
  } catch (err) {
    release();
    throw err;
  }
}

/** The domain named `name`, if there is one. */
export async function domainByName(
  ctx: LibvirtContext,
  name: string,
  signal: AbortSignal,
): Promise<DomainRef | undefined> {
  const refs = await ctx.inventory.list(signal);
  return refs.find((r) => r.name === name);
}

/** Polls the domain's state until `done` says so (true) or `timeoutMs` passes (false). */
export async function waitForState(
  ctx: LibvirtContext,
  uuid: string,
  done: (state: number) => boolean,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const until = ctx.clock.now() + timeoutMs;
  for (;;) {
    const view = await ctx.find(uuid, signal);
    if (done(view.stats?.state ?? 0)) return true;
    if (ctx.clock.now() >= until) return false;
    await ctx.clock.sleep(Math.min(500, Math.max(1, until - ctx.clock.now())), signal);
  }
}
