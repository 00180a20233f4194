import { create } from "@bufbuild/protobuf";
import { DiskInfoSchema, ImageFormat } from "@virtrigaud/contracts";
import { parseBlkInfo, vmDisks } from "./disks/vm-disks.js";
import type { LibvirtOperation } from "./libvirt-context.js";

const formats: Record<string, ImageFormat> = {
  qcow2: ImageFormat.QCOW2,
  raw: ImageFormat.RAW,
  vmdk: ImageFormat.VMDK,
};

/**
 * DescribeDisks: the domain's disks from its XML (name, format, path, order)
 * and their sizes from `virsh domblkinfo`, all in one virsh call.
 *
 * @throws ProviderError NOT_FOUND when there is no such domain.
 */
export const describeDisks: LibvirtOperation<"describeDisks"> = async (ctx, request, signal) => {
  const view = await ctx.find(request.vmId, signal);
  const disks = vmDisks(view.info);
  const infos = await ctx.host.virsh(
    disks.map((d) => ["domblkinfo", { domain: view.info.uuid, device: d.target }] as const),
    { signal, idempotent: true },
  );
  return {
    disks: disks.map((d, i) => {
      const sizes = parseBlkInfo(infos[i]?.out ?? "");
      return create(DiskInfoSchema, {
        name: d.name,
        format: formats[d.format] ?? ImageFormat.UNSPECIFIED,
        capacityBytes: BigInt(sizes.capacity),
        allocatedBytes: BigInt(sizes.allocation),
        location: d.path,
        index: d.index,
      });
    }),
  };
};
