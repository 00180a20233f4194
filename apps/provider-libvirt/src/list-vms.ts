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

/** ListVMs as it was before readListing, kept until the listings are compared on the test bed. */
export const listVmsBefore: LibvirtOperation<"listVMs"> = async (ctx, request, signal) => {
  const after = pageTokenAfter(request.pageToken);
  const size = request.pageSize || 100;
  const refs = (await ctx.inventory.list(signal))
    .filter((r) => r.name.startsWith(request.namePrefix) && r.name > after)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
