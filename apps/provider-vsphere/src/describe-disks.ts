import { diskInfos } from "./disk-infos.js";
import { findVm } from "./vm-lookup.js";
import type { VsphereOperation } from "./vsphere-context.js";

/**
 * DescribeDisks: the VM's disks from its config, boot disk first.
 *
 * @throws ProviderError NOT_FOUND for a VM that is not there.
 */
export const describeDisks: VsphereOperation<"describeDisks"> = async (ctx, request, signal) => {
  const vm = await findVm(ctx, request.vmId, signal);
  return { disks: diskInfos(vm.values) };
};
