import { PowerOperation, PowerState } from "@virtrigaud/contracts";
import { fileBytes } from "./vm-disks.js";
import { setPower } from "./machine-config.js";
import { type MockOperation, readyVm, runTask } from "./mock-context.js";
import { planPower } from "./plan-power.js";

const defaultShutdownTimeoutSeconds = 300;

/**
 * Power: plans the change (`planPower`) and carries it out as a task; a VM
 * already in the target state gets no task. A guest that ignores ACPI is
 * powered off hard once SHUTDOWN's timeout passes.
 *
 * @throws ProviderError as `planPower` and `readyVm` do.
 */
export const power: MockOperation<"power"> = (ctx, request) => {
  const vm = readyVm(ctx, request.vmId);
  const plan = planPower(vm.id, vm.powerState, request.operation);
  if (plan.kind === "none") return Promise.resolve({});
  const timeoutSeconds = request.gracefulTimeoutSeconds || defaultShutdownTimeoutSeconds;
  const waitMs = plan.graceful && ctx.world.ignoresAcpi() ? timeoutSeconds * 1000 : 0;
  const task = runTask(
    ctx,
    "power",
    `power ${PowerOperation[request.operation]} ${vm.name}`,
    async (signal) => {
      if (waitMs) await ctx.clock.sleep(waitMs, signal);
      // A guest shutting down cleanly writes its last changes out.
      const boot = vm.config.disks[0];
      if (plan.graceful && vm.powerState === PowerState.ON && boot)
        ctx.disks.guest.write(vm.id, boot.name, fileBytes(ctx.disks, boot));
      setPower(vm, plan.target);
    },
  );
  return Promise.resolve({ task });
};
