import { pageTokenAfter, pageTokenOf } from "@virtrigaud/contracts";
import type { DomainView } from "./inventory/inventory.js";
import type { LibvirtOperation } from "./libvirt-context.js";

const byName = (a: DomainView, b: DomainView) =>
  a.info.name < b.info.name ? -1 : a.info.name > b.info.name ? 1 : 0;

/**
 * ListVMs: the provider's domains (created or adopted) by name, a page at a
 * time, with their addresses. Every domain matching the prefix is read, in
 * one round trip (see Inventory.readListing): which are managed shows only
 * in their definitions.
 *
 * @throws ProviderError INVALID_SPEC for a page token the provider did not hand out.
 */
export const listVms: LibvirtOperation<"listVMs"> = async (ctx, request, signal) => {
  const after = pageTokenAfter(request.pageToken);
  const size = request.pageSize || 100;
  const views = (await ctx.inventory.readListing(request.namePrefix, signal))
    .filter((v) => v.info.name > after && v.management !== "unmanaged")
    .sort(byName);
  const page = views.slice(0, size);
  const last = page.at(-1);
  return {
    vms: page.map((v) => ctx.inventory.toVirtualMachine(v)),
    nextPageToken: views.length > size && last ? pageTokenOf(last.info.name) : "",
  };
};
