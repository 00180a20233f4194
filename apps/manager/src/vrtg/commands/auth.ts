import { Kind } from "@virtrigaud/proto/manager";
import { allVerbs } from "../../auth/builtin-roles.js";
import { type CommandContext, atMost, kindArg } from "../command-context.js";
import { CliError, exitCodes, table } from "../common.js";

const authUsage = "vrtg auth whoami | can-i VERB KIND [NAME] [-n NS | -A]";

/**
 * `vrtg auth whoami`: who the manager takes the caller for (Kubernetes'
 * SelfSubjectReview). `vrtg auth can-i VERB KIND [NAME]`: "yes" and exit 0,
 * or "no" and exit 1, as kubectl auth can-i does.
 */
export async function auth(ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = ctx.args;
  if (sub === "whoami") {
    atMost(rest, 0, authUsage);
    const me = await ctx.client.whoAmI({});
    if (ctx.flags.output === "json") {
      ctx.io.out(`${JSON.stringify({ name: me.name, groups: me.groups, method: me.method })}\n`);
      return exitCodes.ok;
    }
    ctx.io.out(
      `${table([
        ["ATTRIBUTE", "VALUE"],
        ["Username", me.name],
        ["Groups", me.groups.length ? `[${me.groups.join(" ")}]` : "[]"],
        ["Method", me.method],
      ])}\n`,
    );
    return exitCodes.ok;
  }
  if (sub === "can-i") {
    const [verb, kindName, name] = rest;
    atMost(rest, 3, authUsage);
    if (!verb || !(verb === "*" || allVerbs.includes(verb)))
      throw new CliError(`a verb is required: ${allVerbs.join(", ")}`, exitCodes.usage);
    const info = kindName === "events" ? undefined : kindArg(kindName);
    if (!info) throw new CliError("can-i takes a kind, not events", exitCodes.usage);
    const answer = await ctx.client.checkAccess({
      verb,
      kind: info.kind ?? Kind.UNSPECIFIED,
      namespace: ctx.global.namespace,
      allNamespaces: ctx.global.allNamespaces,
      name: name ?? "",
    });
    ctx.io.out(answer.allowed ? "yes\n" : "no\n");
    if (ctx.flags.output === "wide") ctx.io.err(`${answer.reason}\n`);
    return answer.allowed ? exitCodes.ok : exitCodes.error;
  }
  throw new CliError(authUsage, exitCodes.usage);
}
