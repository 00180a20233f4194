import { ApplyOutcome, Kind, type Resource } from "@virtrigaud/proto/manager";
import { stringify } from "yaml";
import { decodeManifest, encodeManifest } from "../../manifest/manifest-codec.js";
import { apiVersion, fromResource } from "../../manifest/kinds.js";
import { type CommandContext, atMost } from "../command-context.js";
import { CliError, exitCodes, explain } from "../common.js";
import { get } from "./get.js";

const providerUsage = "vrtg provider add NAME --type TYPE --endpoint URL | list | check NAME";

/** `vrtg provider add NAME --type T --endpoint URL`, `provider list`, `provider check NAME`. */
export async function provider(ctx: CommandContext): Promise<number> {
  const [verb, name] = ctx.args;
  atMost(ctx.args, verb === "list" ? 1 : 2, providerUsage);
  const namespace = ctx.global.namespace;
  if (verb === "list") {
    return get({ ...ctx, args: ["providers"] });
  }
  if (verb === "add" && name) {
    if (!ctx.flags.type || !ctx.flags.endpoint)
      throw new CliError("provider add needs --type and --endpoint", exitCodes.usage);
    let resource;
    try {
      resource = decodeManifest({
        apiVersion,
        kind: "Provider",
        metadata: { name, namespace },
        spec: { type: ctx.flags.type, endpoint: ctx.flags.endpoint },
      });
    } catch (err) {
      throw explain(err);
    }
    const response = await ctx.client.apply({ resource });
    ctx.io.out(
      `provider/${name} ${response.outcome === ApplyOutcome.CREATED ? "created" : "configured"}\n`,
    );
    return exitCodes.ok;
  }
  if (verb === "check" && name) {
    const { resource } = await ctx.client.get({ kind: Kind.PROVIDER, namespace, name });
    const p = fromResource(resource)?.message;
    ctx.io.out(stringify({ name, status: encodeManifest(resource as Resource)["status"] ?? {} }));
    const healthy = (p as { status?: { healthy?: boolean } } | undefined)?.status?.healthy;
    return healthy ? exitCodes.ok : exitCodes.unavailable;
  }
  throw new CliError(`usage: ${providerUsage}`, exitCodes.usage);
}
