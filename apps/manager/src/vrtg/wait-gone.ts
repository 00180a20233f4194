import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import type { KindInfo } from "../manifest/kinds.js";
import type { CommandContext } from "./command-context.js";

/**
 * Polls until the resource is gone or `timeoutMs` passes.
 *
 * @returns whether it went.
 * @throws whatever a Get throws other than NOT_FOUND.
 */
export async function waitGone(
  ctx: CommandContext,
  info: KindInfo,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await ctx.client.get({ kind: info.kind, namespace, name });
    } catch (err) {
      if (ProviderError.is(err, ErrorReason.NOT_FOUND)) return true;
      throw err;
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}
