import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ListAuditEntriesResponseSchema } from "@virtrigaud/proto/manager";
import { stringify } from "yaml";
import { type CommandContext, atMost } from "../command-context.js";
import { CliError, exitCodes, table } from "../common.js";

/** `vrtg audit [-o yaml|json]`: the answering manager's recent audit records, oldest first. */
export async function audit(ctx: CommandContext): Promise<number> {
  atMost(ctx.args, 0, "audit");
  const response = await ctx.client.listAuditEntries({});
  const output = ctx.flags.output;
  if (output === "json" || output === "yaml") {
    const json = toJson(ListAuditEntriesResponseSchema, response);
    ctx.io.out(output === "json" ? `${JSON.stringify(json, null, 2)}\n` : stringify(json));
    return exitCodes.ok;
  }
  if (output !== undefined)
    throw new CliError(`audit prints yaml or json, not ${output}`, exitCodes.usage);
  if (!response.entries.length) {
    ctx.io.err("No audit records on this manager since it started.\n");
    return exitCodes.ok;
  }
  const rows = response.entries.map((e) => [
    e.time ? timestampDate(e.time).toISOString() : "",
    e.identity?.name ?? "",
    e.source,
    e.verb + (e.dryRun ? " (dry run)" : ""),
    [e.kind, [e.namespace, e.name].filter(Boolean).join("/")].filter(Boolean).join(" "),
    e.outcome,
    e.resourceVersion,
  ]);
  ctx.io.out(
    `${table([["TIME", "IDENTITY", "SOURCE", "VERB", "RESOURCE", "OUTCOME", "VERSION"], ...rows])}\n`,
  );
  return exitCodes.ok;
}
