import type { TaskRef } from "@virtrigaud/contracts";
import {
  type ManagedObjectReference,
  powerOffVM,
  retrieveOne,
  shutdownGuest,
  waitForUpdates,
} from "@virtrigaud/vsphere-sdk";
import { guestOperationUnavailable, toProviderError } from "./errors.js";
import { applyPending } from "./pending-compute.js";
import type { FoundVm } from "./vm-lookup.js";
import type { VsphereContext } from "./vsphere-context.js";

/** Waits until the VM's power state is `state`, or `timeoutMs` passes; true when it got there. */
async function waitForPowerState(
  ctx: VsphereContext,
  ref: ManagedObjectReference,
  state: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const both = AbortSignal.any([signal, timeout]);
  let reached = false;
  try {
    await waitForUpdates(
      ctx.client,
      ref,
      ["runtime.powerState"],
      (values) => (reached = values["runtime.powerState"] === state),
      { signal: both, maxWaitSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)) },
    );
  } catch (err) {
    if (!timeout.aborted || signal.aborted) throw toProviderError(err);
  }
  return reached;
}

/**
 * SHUTDOWN as a provider task: asks the guest to shut down (ShutdownGuest)
 * and waits `timeoutMs` for the VM to be off; powers it off hard when the
 * guest does not make it in time or has no tools. Then applies the CPU and
 * memory changes that were waiting for a power cycle.
 */
export function startShutdown(
  ctx: VsphereContext,
  vmId: string,
  vm: FoundVm,
  timeoutMs: number,
): TaskRef {
  const { client } = ctx;
  const state = vm.values["runtime.powerState"];
  return ctx.startTask(`shutdown ${String(vm.values["name"])}`, async (s, progress) => {
    let off = false;
    if (state === "poweredOn") {
      try {
        await ctx.call(s, () => shutdownGuest(client, vm.ref, { signal: s }));
        off = await waitForPowerState(ctx, vm.ref, "poweredOff", timeoutMs, s);
      } catch (err) {
        if (!guestOperationUnavailable(err)) throw err;
        ctx.logger.info({ vm: vmId }, "no guest tools: powering off hard");
      }
    }
    progress(50);
    if (!off) {
      const current = (
        await ctx.call(s, () => retrieveOne(client, vm.ref, ["runtime.powerState"], { signal: s }))
      )["runtime.powerState"];
      if (current !== "poweredOff") {
        await ctx.step(s, () => powerOffVM(client, vm.ref, { signal: s }), {
          report: progress,
          from: 50,
          to: 90,
        });
      }
    }
    await applyPending(ctx, vm, s);
  });
}
