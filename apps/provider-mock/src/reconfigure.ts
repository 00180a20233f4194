import { PowerState } from "@virtrigaud/contracts";
import { type MockOperation, readyVm, runTask } from "./mock-context.js";
import { planReconfigure } from "./plan-reconfigure.js";

/**
 * Reconfigure: plans the change (`planReconfigure`) and carries it out as a
 * task: what the VM takes now is applied, the rest is kept for its next power
 * cycle, and the answer says so.
 *
 * @throws ProviderError as `planReconfigure` and `readyVm` do.
 */
export const reconfigure: MockOperation<"reconfigure"> = (ctx, request) => {
  const vm = readyVm(ctx, request.vmId);
  const plan = planReconfigure(
    {
      id: vm.id,
      config: vm.config,
      pending: vm.pending,
      running: vm.powerState !== PowerState.OFF,
      onlineReconfigure: ctx.capabilities.onlineReconfigure,
      onlineDiskGrow: ctx.capabilities.onlineDiskGrow,
    },
    request,
  );
  if (!plan) return Promise.resolve({});
  const { now, later, powerCycleRequired } = plan;
  const task = runTask(ctx, "reconfigure", `reconfigure ${vm.name}`, () => {
    vm.config = { ...vm.config, ...now };
    if (powerCycleRequired) vm.pending = { ...vm.pending, ...later };
  });
  return Promise.resolve({ task, powerCycleRequired });
};
