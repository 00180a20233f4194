import { Kind } from "@virtrigaud/proto/manager";
import { decodeManifest } from "../../manifest/manifest-codec.js";
import { apiVersion, fromResource } from "../../manifest/kinds.js";
import { type CommandContext, atMost, kindArg } from "../command-context.js";
import { CliError, exitCodes } from "../common.js";
import { printResources } from "../print-resources.js";
import { revertToSnapshot } from "./snapshot-revert.js";

const snapshotUsage =
  "vrtg snapshot create VM NAME [--memory] | revert VM SNAPSHOT [--timeout 60s] | list VM";

/** `vrtg snapshot create VM NAME [--memory]`, `snapshot revert VM SNAPSHOT [--timeout 60s]`, `snapshot list VM`. */
export async function snapshot(ctx: CommandContext): Promise<number> {
  const [verb, vmName, snapName] = ctx.args;
  atMost(ctx.args, verb === "list" ? 2 : 3, snapshotUsage);
  const namespace = ctx.global.namespace;
  if (verb === "list" && vmName) {
    const list = await ctx.client.list({ kind: Kind.VM_SNAPSHOT, namespace });
    const info = kindArg("vmsnapshots");
    printResources(
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
  if (verb === "revert" && vmName && snapName) return revertToSnapshot(ctx, vmName, snapName);
  throw new CliError(`usage: ${snapshotUsage}`, exitCodes.usage);
}
