import { PowerState } from "@virtrigaud/contracts";
import { powerStateOf } from "./inventory/inventory.js";
import type { LibvirtOperation } from "./libvirt-context.js";
import { planReconfigure } from "./plan-reconfigure.js";
import { vmTask } from "./vm-tasks.js";
import { parseDomainXml } from "./xml/parse-domain.js";

/**
 * Reconfigure: reads the persistent definition, plans the virsh commands
 * (`planReconfigure`) and runs them in order as a task holding the VM.
 *
 * @throws ProviderError as `planReconfigure` does; RETRYABLE while another
 * operation holds the VM.
 */
export const reconfigure: LibvirtOperation<"reconfigure"> = async (ctx, request, callSignal) => {
  const view = await ctx.findManaged(request.vmId, callSignal);
  // Targets, not increments: compare with the persistent definition.
  const [inactiveXml] = await ctx.host.virshOk(
    [["dumpxml", { domain: view.info.uuid, inactive: true }]],
    { signal: callSignal, idempotent: true },
  );
  const plan = planReconfigure(
    {
      info: view.info,
      persistent: parseDomainXml(inactiveXml ?? ""),
      stats: view.stats,
      running: powerStateOf(view.stats?.state ?? 0) !== PowerState.OFF,
      headroom: ctx.headroom,
    },
    request,
  );
  if (!plan) return {};
  const task = vmTask(ctx, view, "reconfigure", async (signal) => {
    for (const command of plan.commands) {
      await ctx.host.virshOk([command], { signal });
    }
  });
  return { task, powerCycleRequired: plan.powerCycleRequired };
};
