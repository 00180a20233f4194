import { type AnyResource, type KindInfo, fromResource } from "../manifest/kinds.js";
import type { CommandContext } from "./command-context.js";
import { exitCodes, explain } from "./common.js";

/**
 * Fetches each named resource; one that does not exist is reported on
 * standard error and the others still come back.
 *
 * @returns the resources found, and exit 3 when any was missing.
 * @throws CliError for any other failure.
 */
export async function getNamed(
  ctx: CommandContext,
  info: KindInfo,
  names: string[],
): Promise<{ found: AnyResource[]; code: number }> {
  const found: AnyResource[] = [];
  let code: number = exitCodes.ok;
  for (const name of names) {
    try {
      const { resource } = await ctx.client.get({
        kind: info.kind,
        namespace: ctx.global.namespace,
        name,
      });
      const inner = fromResource(resource);
      if (inner) found.push(inner.message);
    } catch (err) {
      const error = explain(err, "", ctx.global.server);
      if (error.exitCode !== exitCodes.notFound) throw error;
      ctx.io.err(`error: ${error.message}\n`);
      code = code || error.exitCode;
    }
  }
  return { found, code };
}
