import { ErrorReason, ProviderError, parseDuration } from "@virtrigaud/contracts";
import { ConditionStatus, WatchEventType } from "@virtrigaud/proto/manager";
import { type AnyResource, type KindInfo, fromResource } from "../../manifest/kinds.js";
import { type CommandContext, kindArg } from "../command-context.js";
import { CliError, exitCodes, explain } from "../common.js";
import { waitGone } from "../wait-gone.js";

function conditionHolds(message: AnyResource | undefined, type: string, want: string): boolean {
  const status = (
    message as
      { status?: { conditions?: Array<{ type: string; status: ConditionStatus }> } } | undefined
  )?.status;
  const c = status?.conditions?.find((x) => x.type.toLowerCase() === type.toLowerCase());
  const value =
    c?.status === ConditionStatus.TRUE
      ? "true"
      : c?.status === ConditionStatus.FALSE
        ? "false"
        : "unknown";
  return c !== undefined && value === want.toLowerCase();
}

/** What `wait` waits for. */
type WaitFor = { delete: true } | { delete: false; type: string; want: string };

/**
 * `vrtg wait KIND NAME... --for condition=Ready[=True] | --for delete [--timeout DURATION]`
 * (default 30s, for all the names together): exit 0 only when every name
 * got there.
 */
export async function wait(ctx: CommandContext): Promise<number> {
  const info = kindArg(ctx.args[0]);
  const names = ctx.args.slice(1);
  if (!names.length) throw new CliError("wait needs KIND NAME", exitCodes.usage);
  const forWhat = ctx.flags.for ?? "";
  const timeoutMs = parseDuration(ctx.flags.timeout ?? "30s");
  const match = /^condition=([A-Za-z]+)(?:=(True|False|Unknown))?$/i.exec(forWhat);
  if (!match && forWhat !== "delete")
    throw new CliError("--for must be condition=TYPE[=True|False] or delete", exitCodes.usage);
  const waitFor: WaitFor = match
    ? { delete: false, type: match[1] ?? "Ready", want: match[2] ?? "True" }
    : { delete: true };
  const deadline = Date.now() + timeoutMs;
  let code: number = exitCodes.ok;
  for (const name of names) {
    try {
      code = code || (await waitOne(ctx, info, name, waitFor, deadline));
    } catch (err) {
      const error = explain(err, "", ctx.global.server);
      if (error.exitCode !== exitCodes.notFound) throw error;
      ctx.io.err(`error: ${error.message}\n`);
      code = code || error.exitCode;
    }
  }
  return code;
}

/** Waits for one name until `deadline`; reports how it ended. */
async function waitOne(
  ctx: CommandContext,
  info: KindInfo,
  name: string,
  waitFor: WaitFor,
  deadline: number,
): Promise<number> {
  const namespace = ctx.global.namespace;
  const what = `${info.name.toLowerCase()}/${name}`;
  const timeout = ctx.flags.timeout ?? "30s";
  if (waitFor.delete) {
    if (await waitGone(ctx, info, namespace, name, deadline - Date.now())) {
      ctx.io.out(`${what} deleted\n`);
      return exitCodes.ok;
    }
    ctx.io.err(`error: timed out after ${timeout} waiting for ${what} to be deleted\n`);
    return exitCodes.timeout;
  }
  const { type, want } = waitFor;
  let last: AnyResource | undefined;
  const remainingMs = deadline - Date.now();
  if (remainingMs <= 0) {
    // Earlier names took all the time: look once, without a watch.
    const { resource } = await ctx.client.get({ kind: info.kind, namespace, name });
    last = fromResource(resource)?.message;
    if (conditionHolds(last, type, want)) {
      ctx.io.out(`${what} condition met\n`);
      return exitCodes.ok;
    }
  } else {
    try {
      for await (const event of ctx.client.watch(
        { kind: info.kind, namespace, name },
        { timeoutMs: remainingMs },
      )) {
        if (event.type === WatchEventType.BOOKMARK) continue;
        last = fromResource(event.resource)?.message;
        if (event.type === WatchEventType.DELETED)
          throw new CliError(`${what} was deleted`, exitCodes.notFound);
        if (conditionHolds(last, type, want)) {
          ctx.io.out(`${what} condition met\n`);
          return exitCodes.ok;
        }
      }
    } catch (err) {
      // The watch's deadline is the wait's timeout: report it below.
      if (!ProviderError.is(err, ErrorReason.DEADLINE_EXCEEDED)) throw err;
    }
  }
  if (!last) {
    // Watching a name that does not exist sends nothing: say so.
    await ctx.client.get({ kind: info.kind, namespace, name });
  }
  const status = (
    last as
      | { status?: { conditions?: Array<{ type: string; reason: string; message: string }> } }
      | undefined
  )?.status;
  const c = status?.conditions?.find((x) => x.type.toLowerCase() === type.toLowerCase());
  ctx.io.err(
    `error: timed out after ${timeout} waiting for condition ${type}=${want} on ${what}${c ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : ""}\n`,
  );
  return exitCodes.timeout;
}
