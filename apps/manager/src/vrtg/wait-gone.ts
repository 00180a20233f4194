import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import type { KindInfo } from "../manifest/kinds.js";
import type { CommandContext } from "./command-context.js";
import { pollUntil } from "./poll-until.js";

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
  const gone = async () => {
    try {
      await ctx.client.get({ kind: info.kind, namespace, name });
      return false;
    } catch (err) {
      if (ProviderError.is(err, ErrorReason.NOT_FOUND)) return true;
      throw err;
    }
  };
  return (await pollUntil(gone, (isGone) => isGone, timeoutMs)) === true;
}
