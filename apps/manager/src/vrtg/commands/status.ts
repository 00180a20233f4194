import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { GetStatusResponseSchema } from "@virtrigaud/proto/manager";
import { stringify } from "yaml";
import { type CommandContext, atMost } from "../command-context.js";
import { CliError, age, exitCodes, table } from "../common.js";

/** `vrtg status [-o yaml|json]`: the manager that answered, its store, and who leads. */
export async function status(ctx: CommandContext): Promise<number> {
  atMost(ctx.args, 0, "status");
  const response = await ctx.client.getStatus({});
  const output = ctx.flags.output;
  if (output === "json" || output === "yaml") {
    const json = toJson(GetStatusResponseSchema, response);
    ctx.io.out(output === "json" ? `${JSON.stringify(json, null, 2)}\n` : stringify(json));
    return exitCodes.ok;
  }
  if (output !== undefined)
    throw new CliError(`status prints yaml or json, not ${output}`, exitCodes.usage);
  const leader = response.leader;
  const since = leader?.since ? timestampMs(leader.since) : undefined;
  ctx.io.out(
    `${table([
      ["REPLICA", response.replica || "(unnamed)"],
      ["STORE", `${response.storeType} ${response.storeLocation}`],
      ["RESOURCE VERSION", response.resourceVersion],
      ["LEADING", response.leading ? "yes" : "no"],
      [
        "LEADER",
        leader
          ? `${leader.replica} (term ${leader.term}, for ${age(since)})`
          : response.storeType === "sqlite"
            ? "this manager (embedded store)"
            : "none: no manager holds the lease",
      ],
    ])}\n`,
  );
  return exitCodes.ok;
}
