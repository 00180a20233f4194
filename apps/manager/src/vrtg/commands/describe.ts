import { timestampMs } from "@bufbuild/protobuf/wkt";
import { EventType } from "@virtrigaud/proto/manager";
import { stringify } from "yaml";
import { encodeManifest } from "../../manifest/manifest-codec.js";
import { type AnyResource, type KindInfo, toResource } from "../../manifest/kinds.js";
import { type CommandContext, kindArg } from "../command-context.js";
import { CliError, age, exitCodes, table } from "../common.js";
import { getNamed } from "../get-named.js";

/**
 * `vrtg describe KIND NAME...`: each resource, its conditions and its events;
 * each name that does not exist is reported (exit 3).
 */
export async function describe(ctx: CommandContext): Promise<number> {
  const info = kindArg(ctx.args[0]);
  const names = ctx.args.slice(1);
  if (!names.length) throw new CliError("describe needs KIND NAME", exitCodes.usage);
  const { found, code } = await getNamed(ctx, info, names);
  for (const [i, message] of found.entries()) {
    if (i > 0) ctx.io.out("\n");
    await describeOne(ctx, info, message);
  }
  return code;
}

async function describeOne(
  ctx: CommandContext,
  info: KindInfo,
  message: AnyResource,
): Promise<void> {
  const name = message.metadata?.name ?? "";
  const manifest = encodeManifest(toResource(info.kind, message));
  const status = (manifest["status"] ?? {}) as Record<string, unknown>;
  const conditions = (status["conditions"] ?? []) as Array<Record<string, unknown>>;
  delete status["conditions"];
  ctx.io.out(
    stringify({
      Name: name,
      Namespace: ctx.global.namespace,
      Kind: info.name,
      Metadata: manifest["metadata"],
      Spec: manifest["spec"],
      Status: status,
    }),
  );
  ctx.io.out("Conditions:\n");
  ctx.io.out(
    conditions.length
      ? `${table([["  TYPE", "STATUS", "REASON", "AGE", "MESSAGE"], ...conditions.map((c) => [`  ${text(c["type"])}`, text(c["status"]), text(c["reason"]), age(c["lastTransitionTime"] ? Date.parse(text(c["lastTransitionTime"])) : undefined), text(c["message"])])])}\n`
      : "  <none>\n",
  );
  const { events } = await ctx.client.listEvents({
    namespace: ctx.global.namespace,
    kind: info.kind,
    name,
    limit: 50,
  });
  ctx.io.out("Events:\n");
  ctx.io.out(
    events.length
      ? `${table([["  TYPE", "REASON", "AGE", "COUNT", "MESSAGE"], ...events.map((e) => [`  ${e.type === EventType.WARNING ? "Warning" : "Normal"}`, e.reason, age(e.lastTimestamp ? timestampMs(e.lastTimestamp) : undefined), String(e.count), e.message])])}\n`
      : "  <none>\n",
  );
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}
