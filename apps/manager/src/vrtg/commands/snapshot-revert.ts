import { clone, create } from "@bufbuild/protobuf";
import { parseDuration } from "@virtrigaud/contracts";
import {
  ApplyOutcome,
  Kind,
  type VirtualMachine,
  VMSnapshotOperationSchema,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import { fromResource, toResource } from "../../manifest/kinds.js";
import type { CommandContext } from "../command-context.js";
import { CliError, exitCodes } from "../common.js";
import { pollUntil } from "../poll-until.js";

/** How long `snapshot revert` waits, by default, for the manager to forget a revert done. */
const forgetTimeout = "60s";

async function getVm(ctx: CommandContext, namespace: string, name: string) {
  const { resource } = await ctx.client.get({ kind: Kind.VIRTUAL_MACHINE, namespace, name });
  return fromResource(resource)?.message as VirtualMachine;
}

/** Applies `vm` with spec.snapshot.revertToRef set to `snapshot` (cleared when undefined), at its resourceVersion. */
async function applyRevertTo(ctx: CommandContext, vm: VirtualMachine, snapshot?: string) {
  const next = clone(VirtualMachineSchema, vm);
  next.status = undefined;
  if (next.spec)
    next.spec.snapshot = snapshot
      ? create(VMSnapshotOperationSchema, { revertToRef: { name: snapshot } })
      : undefined;
  return ctx.client.apply({ resource: toResource(Kind.VIRTUAL_MACHINE, next) });
}

/**
 * `vrtg snapshot revert VM SNAPSHOT [--timeout 60s]`: sets the VM's
 * spec.snapshot.revertToRef. The manager reverts once for each snapshot the
 * spec names; when the spec names this one and that revert is done, the
 * reference is cleared first, and set again once the manager has forgotten
 * the revert (status.revertedTo empty), within --timeout.
 */
export async function revertToSnapshot(
  ctx: CommandContext,
  vmName: string,
  snapName: string,
): Promise<number> {
  const namespace = ctx.global.namespace;
  const what = `virtualmachine/${vmName}`;
  let vm = await getVm(ctx, namespace, vmName);
  const done = vm.status?.revertedTo === snapName;
  if (vm.spec?.snapshot?.revertToRef?.name === snapName && done) {
    await applyRevertTo(ctx, vm, undefined);
    ctx.io.out(`${what}: the revert to ${snapName} was done; cleared spec.snapshot.revertToRef\n`);
    const timeout = ctx.flags.timeout ?? forgetTimeout;
    // The manager has forgotten the revert once status.revertedTo is empty.
    const forgotten = await pollUntil(
      () => getVm(ctx, namespace, vmName),
      (read) => !read.status?.revertedTo,
      parseDuration(timeout),
    );
    if (!forgotten)
      throw new CliError(
        `timed out after ${timeout} waiting for the manager to clear status.revertedTo of ${what} (is its provider available?); spec.snapshot.revertToRef is left cleared: run this again once \`vrtg get vm ${vmName} -o yaml\` shows no revertedTo`,
        exitCodes.timeout,
      );
    vm = forgotten;
  }
  const response = await applyRevertTo(ctx, vm, snapName);
  const note = response.outcome === ApplyOutcome.UNCHANGED ? " (already asked; not done yet)" : "";
  ctx.io.out(`${what} reverting to ${snapName}${note}\n`);
  return exitCodes.ok;
}
