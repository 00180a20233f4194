import { setTimeout as sleep } from "node:timers/promises";
import { clone, create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { ErrorReason, ProviderError, clip, parseDuration } from "@virtrigaud/contracts";
import {
  ApplyOutcome,
  ConditionStatus,
  EventType,
  Kind,
  type Resource,
  type VirtualMachine,
  VMSnapshotOperationSchema,
  VirtualMachineSchema,
  WatchEventType,
  type WatchResponse,
} from "@virtrigaud/proto/manager";
import { stringify } from "yaml";
import { decodeManifest, encodeManifest } from "../manifest/manifest-codec.js";
import {
  type AnyResource,
  type KindInfo,
  apiVersion,
  fromResource,
  toResource,
} from "../manifest/kinds.js";
import { type CommandContext, atMost, kindArg } from "./command-context.js";
import { CliError, type ManagerClient, age, exitCodes, explain, table } from "./common.js";
import { columnsFor } from "./columns.js";
import { readInputs } from "./read-inputs.js";

function print(ctx: CommandContext, info: KindInfo, items: AnyResource[], single: boolean): void {
  const output = ctx.flags.output ?? "";
  if (output === "yaml" || output === "json") {
    const manifests = items.map((m) => encodeManifest(toResource(info.kind, m)));
    const value = single ? manifests[0] : { apiVersion: "v1", kind: "List", items: manifests };
    ctx.io.out(output === "yaml" ? stringify(value) : `${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  if (output && output !== "wide")
    throw new CliError(`-o must be wide, yaml or json, not ${clip(output, 100)}`, exitCodes.usage);
  if (!items.length) {
    ctx.io.err(
      `No ${info.plural} found${ctx.global.allNamespaces ? "" : ` in namespace ${ctx.global.namespace}`}.\n`,
    );
    return;
  }
  const columns = columnsFor(info.kind, output === "wide");
  const ns = ctx.global.allNamespaces;
  ctx.io.out(
    `${table([
      ns ? ["NAMESPACE", ...columns.header] : columns.header,
      ...items.map((m) => (ns ? [m.metadata?.namespace ?? "", ...columns.row(m)] : columns.row(m))),
    ])}\n`,
  );
}

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
 * Fetches each named resource; one that does not exist is reported on
 * standard error and the others still come back.
 *
 * @returns the resources found, and exit 3 when any was missing.
 * @throws CliError for any other failure.
 */
async function getNamed(
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

/**
 * Whether a watch ended because standard output went away: the reader
 * stopped reading, so the watch ends quietly.
 */
function outputGone(ctx: CommandContext): boolean {
  return ctx.io.outClosed.aborted;
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
    if (found.length) print(ctx, info, found, names.length === 1);
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
    print(
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
        print(ctx, info, [inner.message], true);
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

async function waitGone(
  ctx: CommandContext,
  info: KindInfo,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await ctx.client.get({ kind: info.kind, namespace, name });
    } catch (err) {
      if (ProviderError.is(err, ErrorReason.NOT_FOUND)) return true;
      throw err;
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `vrtg delete KIND NAME | -f FILE [--force] [--wait]`. */
export async function remove(ctx: CommandContext): Promise<number> {
  const targets: Array<{ info: KindInfo; namespace: string; name: string }> = [];
  if (ctx.flags.filename.length) {
    for (const { manifest, source } of await readInputs(ctx.flags.filename, ctx.io)) {
      let resource;
      try {
        resource = decodeManifest(manifest);
      } catch (err) {
        throw explain(err, source);
      }
      const inner = fromResource(resource);
      if (inner)
        targets.push({
          info: inner.info,
          namespace: inner.message.metadata?.namespace || ctx.global.namespace,
          name: inner.message.metadata?.name ?? "",
        });
    }
    targets.reverse(); // VMs before the classes and providers they use.
  } else {
    const info = kindArg(ctx.args[0]);
    if (!ctx.args[1]) throw new CliError("delete needs KIND NAME or -f FILE", exitCodes.usage);
    for (const name of ctx.args.slice(1))
      targets.push({ info, namespace: ctx.global.namespace, name });
  }
  let code: number = exitCodes.ok;
  for (const { info, namespace, name } of targets) {
    try {
      if (ctx.flags.force && info.kind === Kind.VIRTUAL_MACHINE) {
        const { resource } = await ctx.client.get({ kind: info.kind, namespace, name });
        const vm = clone(VirtualMachineSchema, fromResource(resource)?.message as VirtualMachine);
        if (vm.metadata) {
          vm.metadata.annotations["virtrigaud.io/force-delete"] = "true";
          vm.metadata.resourceVersion = "";
        }
        if (!vm.metadata?.deletionTimestamp)
          await ctx.client.apply({ resource: toResource(info.kind, vm) });
      }
      const response = await ctx.client.delete({ kind: info.kind, namespace, name });
      ctx.io.out(
        `${info.name.toLowerCase()}/${name} ${response.resource ? "deleting" : "deleted"}\n`,
      );
      if (response.resource && ctx.flags.wait) {
        const timeoutMs = parseDuration(ctx.flags.timeout ?? "5m");
        if (!(await waitGone(ctx, info, namespace, name, timeoutMs))) {
          ctx.io.err(`error: timed out waiting for ${info.name.toLowerCase()}/${name} to go\n`);
          code = code || exitCodes.timeout;
        } else ctx.io.out(`${info.name.toLowerCase()}/${name} deleted\n`);
      }
    } catch (err) {
      const error = explain(err, `${info.name.toLowerCase()}/${name}`, ctx.global.server);
      ctx.io.err(`error: ${error.message}\n`);
      code = code || error.exitCode;
    }
  }
  return code;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

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

const snapshotUsage = "vrtg snapshot create VM NAME [--memory] | revert VM SNAPSHOT | list VM";

/** `vrtg snapshot create VM NAME [--memory]`, `snapshot revert VM SNAPSHOT`, `snapshot list VM`. */
export async function snapshot(ctx: CommandContext): Promise<number> {
  const [verb, vmName, snapName] = ctx.args;
  atMost(ctx.args, verb === "list" ? 2 : 3, snapshotUsage);
  const namespace = ctx.global.namespace;
  if (verb === "list" && vmName) {
    const list = await ctx.client.list({ kind: Kind.VM_SNAPSHOT, namespace });
    const info = kindArg("vmsnapshots");
    print(
      ctx,
      info,
      list.resources
        .flatMap((r) => fromResource(r)?.message ?? [])
        .filter((m) => (m as { spec?: { vmRef?: { name: string } } }).spec?.vmRef?.name === vmName),
      false,
    );
    return exitCodes.ok;
  }
  if (verb === "create" && vmName && snapName) {
    const resource = decodeManifest({
      apiVersion,
      kind: "VMSnapshot",
      metadata: { name: snapName, namespace },
      spec: { vmRef: { name: vmName }, snapshotConfig: { includeMemory: ctx.flags.memory } },
    });
    await ctx.client.apply({ resource });
    ctx.io.out(`vmsnapshot/${snapName} created\n`);
    return exitCodes.ok;
  }
  if (verb === "revert" && vmName && snapName) {
    const { resource } = await ctx.client.get({
      kind: Kind.VIRTUAL_MACHINE,
      namespace,
      name: vmName,
    });
    const vm = clone(VirtualMachineSchema, fromResource(resource)?.message as VirtualMachine);
    if (vm.spec)
      vm.spec.snapshot = create(VMSnapshotOperationSchema, { revertToRef: { name: snapName } });
    if (vm.metadata) vm.metadata.resourceVersion = vm.metadata.resourceVersion ?? "";
    const response = await ctx.client.apply({ resource: toResource(Kind.VIRTUAL_MACHINE, vm) });
    ctx.io.out(
      `virtualmachine/${vmName} reverting to ${snapName}${response.outcome === ApplyOutcome.UNCHANGED ? " (already asked: change something else to revert again)" : ""}\n`,
    );
    return exitCodes.ok;
  }
  throw new CliError(`usage: ${snapshotUsage}`, exitCodes.usage);
}

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
