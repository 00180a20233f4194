import { PowerState, ProviderError } from "@virtrigaud/contracts";
import { powerStateOf } from "./inventory/inventory.js";
import type { LibvirtOperation } from "./libvirt-context.js";
import { planPower } from "./plan-power.js";
import { vmTask, waitForState } from "./vm-tasks.js";

/**
 * Power: plans the change (`planPower`) and carries it out as a task holding
 * the VM. A SHUTDOWN the guest ignores past its timeout ends in a hard power-off.
 *
 * @throws ProviderError as `planPower` does; RETRYABLE while another operation holds the VM.
 */
export const power: LibvirtOperation<"power"> = async (ctx, request, callSignal) => {
  const { host } = ctx;
  const view = await ctx.findManaged(request.vmId, callSignal);
  const uuid = view.info.uuid;
  const plan = planPower(view.info.name, view.stats?.state ?? 0, request.operation);
  switch (plan.kind) {
    case "none":
      return {};
    case "virsh":
      return {
        task: vmTask(ctx, view, plan.what, (signal) =>
          host
            .virshOk([[plan.command, { domain: uuid, ...plan.options }]], { signal })
            .then(() => undefined),
        ),
      };
    case "shutdown": {
      const timeoutSeconds = request.gracefulTimeoutSeconds || ctx.defaultShutdownTimeoutSeconds;
      return {
        task: vmTask(ctx, view, "shutdown", async (signal) => {
          if (plan.resumeFirst) await host.virshOk([["resume", { domain: uuid }]], { signal });
          await host.virsh([["shutdown", { domain: uuid, mode: "acpi" }]], { signal });
          const off = await waitForState(
            ctx,
            uuid,
            (s) => powerStateOf(s) === PowerState.OFF,
            timeoutSeconds * 1000,
            signal,
          );
          if (!off) {
            ctx.logger.info(
              { vm: view.info.name, timeoutSeconds },
              "guest ignored ACPI shutdown; powering off",
            );
            const [destroy] = await host.virsh([["destroy", { domain: uuid }]], { signal });
            if (destroy?.error && !/not running/.test(destroy.error)) {
              throw ProviderError.internal(`power off ${view.info.name} failed: ${destroy.error}`);
            }
          }
        }),
      };
    }
  }
};
