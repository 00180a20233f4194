import { pageTokenAfter, pageTokenOf } from "@virtrigaud/contracts";
import type { MockOperation } from "./mock-context.js";
import { toVirtualMachine } from "./vm-record.js";

/**
 * ListVMs: the VMs whose names start with the prefix, by name, a page at a time.
 *
 * @throws ProviderError INVALID_SPEC for a page token the mock did not hand out.
 */
export const listVms: MockOperation<"listVMs"> = (ctx, request) => {
  const after = pageTokenAfter(request.pageToken);
  const size = request.pageSize || 100;
  const matching = ctx.store
    .sorted()
    .filter((vm) => vm.name.startsWith(request.namePrefix) && (!after || vm.name > after));
  const page = matching.slice(0, size);
  const last = page.at(-1);
  return Promise.resolve({
    vms: page.map((vm) => toVirtualMachine(vm, { console: ctx.capabilities.console })),
    nextPageToken: matching.length > size && last ? pageTokenOf(last.name) : "",
  });
};
