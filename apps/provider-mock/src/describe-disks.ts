import { findVm, type MockOperation } from "./mock-context.js";
import { capacityBytes, diskFormat, fileBytes } from "./vm-disks.js";

/** DescribeDisks: the VM's disks in the order it keeps them, the root disk first. */
export const describeDisks: MockOperation<"describeDisks"> = (ctx, request) => {
  const vm = findVm(ctx, request.vmId);
  return Promise.resolve({
    disks: vm.config.disks.map((disk, index) => ({
      name: disk.name,
      format: diskFormat(ctx.disks, disk),
      capacityBytes: BigInt(capacityBytes(disk)),
      allocatedBytes: BigInt(fileBytes(ctx.disks, disk)),
      location: `mock://${vm.id}/${disk.name}`,
      index,
    })),
  });
};
