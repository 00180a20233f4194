import type { LibvirtOperation } from "./libvirt-context.js";

/** Describe: a domain made elsewhere and not adopted is not the provider's, as in ListVMs. */
export const describe: LibvirtOperation<"describe"> = async (ctx, request, signal) => {
  const [view] = await ctx.inventory.read([request.vmId], signal, true);
  if (!view || view.management === "unmanaged") return { exists: false };
  return { exists: true, vm: ctx.inventory.toVirtualMachine(view) };
};
