import { PowerOperation, ProviderError } from "@virtrigaud/contracts";
import {
  type ManagedObjectReference,
  powerOffVM,
  powerOnVM,
  rebootGuest,
  resetVM,
  suspendVM,
} from "@virtrigaud/vsphere-sdk";
import { guestOperationUnavailable } from "./errors.js";
import { vsphereTaskRef } from "./ids.js";
import { applyPending, hasPending } from "./pending-compute.js";
import { startShutdown } from "./shutdown.js";
import { findVm } from "./vm-lookup.js";
import type { VsphereOperation } from "./vsphere-context.js";

/**
 * Power: ON, OFF and SUSPEND are one vSphere task each, and nothing when the
 * VM is in that state already; ON and OFF of a VM with changes pending for its
 * power cycle are a provider task that applies them while the VM is off.
 * REBOOT asks the guest and resets the VM when it cannot; SHUTDOWN asks the
 * guest and powers off hard after the timeout (`startShutdown`).
 *
 * @throws ProviderError CONFLICT for SUSPEND or REBOOT of a VM that is not
 * running; NOT_FOUND for an unknown VM.
 */
export const power: VsphereOperation<"power"> = async (ctx, request, signal) => {
  const { client } = ctx;
  const vm = await findVm(ctx, request.vmId, signal);
  const state = vm.values["runtime.powerState"];
  const name = String(vm.values["name"]);
  const single = async (start: () => Promise<ManagedObjectReference>) => ({
    task: vsphereTaskRef(await ctx.call(signal, start)),
  });
  switch (request.operation) {
    case PowerOperation.ON:
      if (state === "poweredOn") return {};
      if (state === "poweredOff" && hasPending(vm.values)) {
        return {
          task: ctx.startTask(`power on ${name}`, async (s, progress) => {
            await applyPending(ctx, vm, s);
            await ctx.step(s, () => powerOnVM(client, vm.ref, { signal: s }), {
              report: progress,
              from: 50,
              to: 100,
            });
          }),
        };
      }
      return single(() => powerOnVM(client, vm.ref, { signal }));
    case PowerOperation.OFF:
      if (state === "poweredOff") return {};
      if (hasPending(vm.values)) {
        return {
          task: ctx.startTask(`power off ${name}`, async (s, progress) => {
            await ctx.step(s, () => powerOffVM(client, vm.ref, { signal: s }), {
              report: progress,
              from: 0,
              to: 50,
            });
            await applyPending(ctx, vm, s);
          }),
        };
      }
      return single(() => powerOffVM(client, vm.ref, { signal }));
    case PowerOperation.SUSPEND:
      if (state === "suspended") return {};
      if (state !== "poweredOn")
        throw ProviderError.conflict(
          `vm ${request.vmId} is not running; only a running VM suspends`,
        );
      return single(() => suspendVM(client, vm.ref, { signal }));
    case PowerOperation.REBOOT:
      if (state !== "poweredOn")
        throw ProviderError.conflict(`vm ${request.vmId} is not running; power it on instead`);
      try {
        await ctx.call(signal, () => rebootGuest(client, vm.ref, { signal }));
        return {};
      } catch (err) {
        // No guest tools (or a server without RebootGuest): reset the VM instead.
        if (!guestOperationUnavailable(err)) throw err;
        return single(() => resetVM(client, vm.ref, { signal }));
      }
    case PowerOperation.SHUTDOWN: {
      if (state === "poweredOff") return {};
      const timeoutSeconds = request.gracefulTimeoutSeconds || ctx.shutdownTimeoutSeconds;
      return { task: startShutdown(ctx, request.vmId, vm, timeoutSeconds * 1000) };
    }
    default:
      throw ProviderError.invalidSpec("operation", `unknown power operation ${request.operation}`);
  }
};
