import { pageTokenAfter, pageTokenOf } from "@virtrigaud/contracts";
import type { LibvirtOperation } from "./libvirt-context.js";

/**
 * ListVMs: the provider's domains (created or adopted) by name, a page at a
 * time, with their addresses.
 *
 * @throws ProviderError INVALID_SPEC for a page token the provider did not hand out.
 */
export const listVms: LibvirtOperation<"listVMs"> = async (ctx, request, signal) => {
  const after = pageTokenAfter(request.pageToken);
  const size = request.pageSize || 100;
  const refs = (await ctx.inventory.list(signal))
    .filter((r) => r.name.startsWith(request.namePrefix) && r.name > after)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Every match is read (one round trip): which are managed shows only in their definitions.
  const views = (
    await ctx.inventory.read(
      refs.map((r) => r.uuid),
      signal,
      false,
    )
  ).filter((v) => v.management !== "unmanaged");
  const page = views.slice(0, size);
  await ctx.inventory.findAddresses(page, signal);
  const last = page.at(-1);
  return {
    vms: page.map((v) => ctx.inventory.toVirtualMachine(v)),
    nextPageToken: views.length > size && last ? pageTokenOf(last.info.name) : "",
  };
};
