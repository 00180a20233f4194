import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { WatchEventType, type WatchResponse } from "@virtrigaud/proto/manager";
import { fromResource } from "../../manifest/kinds.js";
import { type CommandContext, kindArg, outputGone } from "../command-context.js";
import { CliError, type ManagerClient, exitCodes, table } from "../common.js";
import { columnsFor } from "../columns.js";
import { getNamed } from "../get-named.js";
import { printResources } from "../print-resources.js";

/**
 * A watch that carries on from the last resourceVersion it got when the
 * manager ends it for falling behind (RESOURCE_EXHAUSTED), as kubectl's do.
 */
async function* resumingWatch(
  client: ManagerClient,
  request: Parameters<ManagerClient["watch"]>[0],
  options: { signal: AbortSignal },
): AsyncGenerator<WatchResponse> {
  let resourceVersion = request.resourceVersion ?? "";
  for (;;) {
    try {
      for await (const event of client.watch({ ...request, resourceVersion }, options)) {
        if (event.resourceVersion) resourceVersion = event.resourceVersion;
        yield event;
      }
      return;
    } catch (err) {
      if (!ProviderError.is(err, ErrorReason.RESOURCE_EXHAUSTED)) throw err;
    }
  }
}

/**
 * `vrtg get KIND [NAME...] [-o wide|yaml|json] [-l SELECTOR] [-w]`: prints
 * what exists and reports each name that does not (exit 3).
 */
export async function get(ctx: CommandContext): Promise<number> {
  const info = kindArg(ctx.args[0]);
  const names = ctx.args.slice(1);
  if (ctx.flags.watch && names.length > 1)
    throw new CliError("get -w watches one NAME or all of a kind, not several", exitCodes.usage);
  let resourceVersion = "";
  if (names.length) {
    const { found, code } = await getNamed(ctx, info, names);
    if (found.length) printResources(ctx, info, found, names.length === 1);
    // A watch of a name that does not exist would wait without a word.
    if (code !== exitCodes.ok || !ctx.flags.watch) return code;
  } else {
    const list = await ctx.client.list({
      kind: info.kind,
      namespace: ctx.global.namespace,
      allNamespaces: ctx.global.allNamespaces,
      labelSelector: ctx.flags.selector ?? "",
    });
    resourceVersion = list.resourceVersion;
    printResources(
      ctx,
      info,
      list.resources.flatMap((r) => fromResource(r)?.message ?? []),
      false,
    );
    if (!ctx.flags.watch) return exitCodes.ok;
  }
  const columns = columnsFor(info.kind, ctx.flags.output === "wide");
  try {
    for await (const event of resumingWatch(
      ctx.client,
      {
        kind: info.kind,
        namespace: ctx.global.allNamespaces ? "" : ctx.global.namespace,
        name: names[0] ?? "",
        labelSelector: ctx.flags.selector ?? "",
        resourceVersion,
      },
      { signal: ctx.io.outClosed },
    )) {
      if (event.type === WatchEventType.BOOKMARK) continue;
      const inner = fromResource(event.resource);
      if (!inner) continue;
      if (ctx.flags.output === "yaml" || ctx.flags.output === "json")
        printResources(ctx, info, [inner.message], true);
      else {
        const row = columns.row(inner.message);
        if (event.type === WatchEventType.DELETED) row[1] = "Deleted";
        ctx.io.out(
          `${table([ctx.global.allNamespaces ? [inner.message.metadata?.namespace ?? "", ...row] : row])}\n`,
        );
      }
    }
  } catch (err) {
    if (!outputGone(ctx)) throw err;
  }
  return exitCodes.ok;
}
