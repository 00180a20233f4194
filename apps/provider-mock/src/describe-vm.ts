import type { MockOperation } from "./mock-context.js";
import { toVirtualMachine } from "./vm-record.js";

/** Describe: the VM as it is; one that does not exist is `exists: false`. */
export const describe: MockOperation<"describe"> = (ctx, request) => {
  const vm = ctx.store.vms.get(request.vmId);
  if (!vm) return Promise.resolve({ exists: false });
  return Promise.resolve({
    exists: true,
    vm: toVirtualMachine(vm, { console: ctx.capabilities.console }),
  });
};
