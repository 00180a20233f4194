import { setTimeout as sleep } from "node:timers/promises";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { EventType, Kind } from "@virtrigaud/proto/manager";
import { type CommandContext, atMost, kindArg, outputGone } from "../command-context.js";
import { type ManagerClient, age, exitCodes, table } from "../common.js";

/** `vrtg events [KIND NAME] [-A] [-w]`. */
export async function events(ctx: CommandContext): Promise<number> {
  atMost(ctx.args, 2, "events [KIND NAME]");
  const info = ctx.args[0] ? kindArg(ctx.args[0]) : undefined;
  const request = {
    namespace: ctx.global.allNamespaces ? "" : ctx.global.namespace,
    kind: info?.kind ?? Kind.UNSPECIFIED,
    name: ctx.args[1] ?? "",
  };
  const show = (
    list: Awaited<ReturnType<ManagerClient["listEvents"]>>["events"],
    header: boolean,
  ) => {
    const rows = list.map((e) => [
      ...(ctx.global.allNamespaces ? [e.involvedObject?.namespace ?? ""] : []),
      age(e.lastTimestamp ? timestampMs(e.lastTimestamp) : undefined),
      e.type === EventType.WARNING ? "Warning" : "Normal",
      e.reason,
      `${e.involvedObject?.kind.toLowerCase()}/${e.involvedObject?.name}`,
      e.message,
    ]);
    const head = [
      ...(ctx.global.allNamespaces ? ["NAMESPACE"] : []),
      "LAST SEEN",
      "TYPE",
      "REASON",
      "OBJECT",
      "MESSAGE",
    ];
    if (rows.length || header) ctx.io.out(`${table(header ? [head, ...rows] : rows)}\n`);
  };
  let { events: list } = await ctx.client.listEvents({ ...request, limit: 500 });
  if (!list.length && !ctx.flags.watch) {
    ctx.io.err("No events found.\n");
    return exitCodes.ok;
  }
  show(list, true);
  if (!ctx.flags.watch) return exitCodes.ok;
  let after = list.at(-1)?.sequence ?? 0n;
  const signal = ctx.io.outClosed;
  try {
    for (;;) {
      await sleep(1000, undefined, { signal });
      ({ events: list } = await ctx.client.listEvents(
        { ...request, afterSequence: after },
        { signal },
      ));
      if (list.length) {
        show(list, false);
        after = list.at(-1)?.sequence ?? after;
      }
    }
  } catch (err) {
    if (!outputGone(ctx)) throw err;
  }
  return exitCodes.ok;
}
