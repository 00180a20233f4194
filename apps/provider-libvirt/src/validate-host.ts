import type { LibvirtOperation } from "./libvirt-context.js";

/**
 * Validate: libvirt answers through the host, the storage pool is there, and
 * the domain type is known; the message says which.
 *
 * @throws ProviderError UNAVAILABLE or UNAUTHENTICATED when the host cannot be used.
 */
export const validateHost: LibvirtOperation<"validate"> = async (ctx, _request, signal) => {
  const [version] = await ctx.host.virshOk([["version", {}]], { signal, idempotent: true });
  const path = await ctx.pool.path(signal);
  const daemon = /Running hypervisor:\s*(.+)/.exec(version ?? "")?.[1] ?? "libvirt";
  const type = await ctx.domainType(signal);
  return {
    message: `${daemon.trim()} via ${ctx.host.description}; pool ${ctx.pool.name} at ${path}; ${type} domains`,
  };
};
