import { clone, create } from "@bufbuild/protobuf";
import {
  ApplyOutcome,
  Kind,
  type VirtualMachine,
  VMSnapshotOperationSchema,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import { decodeManifest } from "../../manifest/manifest-codec.js";
import { apiVersion, fromResource, toResource } from "../../manifest/kinds.js";
import { type CommandContext, atMost, kindArg } from "../command-context.js";
import { CliError, exitCodes } from "../common.js";
import { printResources } from "../print-resources.js";

const snapshotUsage = "vrtg snapshot create VM NAME [--memory] | revert VM SNAPSHOT | list VM";

/** `vrtg snapshot create VM NAME [--memory]`, `snapshot revert VM SNAPSHOT`, `snapshot list VM`. */
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
