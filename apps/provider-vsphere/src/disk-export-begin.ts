import { create } from "@bufbuild/protobuf";
import {
  DiskExportSchema,
  ImageFormat,
  ProviderError,
  type ProviderResponse,
} from "@virtrigaud/contracts";
import { createHash } from "node:crypto";
import type { VirtualDiskFlatVer2BackingInfo } from "@virtrigaud/vsphere-sdk";
import { capacityBytes, diskFileName } from "./disk-infos.js";
import type { ExportRecord } from "./disk-staging.js";
import { type ExportSourceRecord, openExportSource } from "./export-source.js";
import { flatSourceOf } from "./flat-extent-source.js";
import { snapshotsOf } from "./snapshots.js";
import { findVm } from "./vm-lookup.js";
import { disksOf } from "./vm-properties.js";
import type { VsphereContext, VsphereOperation } from "./vsphere-context.js";

/** The answer of a ready export. */
function exportAnswer(record: ExportRecord): ProviderResponse<"diskExportBegin"> {
  return {
    export: create(DiskExportSchema, {
      id: record.exportId,
      format: ImageFormat.RAW,
      sizeBytes: BigInt(record.sizeBytes),
      sha256: record.sha256,
      capacityBytes: BigInt(record.capacityBytes),
    }),
  };
}

/** Streams the source once and returns its SHA-256. */
async function checksum(
  ctx: VsphereContext,
  source: ExportSourceRecord,
  signal: AbortSignal,
  progress: (p: number) => void,
  sizeBytes: number,
): Promise<string> {
  const hash = createHash("sha256");
  const stream = await ctx.call(signal, () => openExportSource(ctx.client, source).stream(signal));
  let done = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    progress(sizeBytes ? Math.floor((99 * done) / sizeBytes) : 99);
  }
  if (done !== sizeBytes) {
    throw ProviderError.retryable(`the flat extent ended after ${done} of ${sizeBytes} bytes`);
  }
  return hash.digest("hex");
}

/**
 * DiskExportBegin: exports a disk of a VM that is off as RAW, read straight
 * from its flat extent on the datastore. The first call checks the VM and the
 * disk and answers a task that reads the extent once for its SHA-256; calling
 * again answers the export. A VM with snapshots has a delta disk over the
 * flat one: it is refused (delete its snapshots first) rather than exported
 * without what the delta holds.
 *
 * @throws ProviderError CONFLICT for a VM that is not off, a disk with
 * snapshots, or an export id already used for another disk; NOT_FOUND for a
 * VM or disk that is not there; UNSUPPORTED for a disk that is not one flat
 * extent (sparse, streamOptimized, split), or a format other than RAW.
 */
export const diskExportBegin: VsphereOperation<"diskExportBegin"> = async (
  ctx,
  request,
  signal,
) => {
  const { exportId, vmId, diskName } = request;
  if (request.format !== ImageFormat.RAW && request.format !== ImageFormat.UNSPECIFIED) {
    throw ProviderError.unsupported("the vSphere provider exports disks as RAW only");
  }
  const known = await ctx.staging.readExport(exportId);
  if (known) {
    if (known.vmId !== vmId || known.diskName !== diskName) {
      throw ProviderError.conflict(
        `export ${exportId} is of another disk (${known.vmId}/${known.diskName})`,
      );
    }
    return exportAnswer(known);
  }
  const running = ctx.diskTasks.get(`export/${exportId}`);
  if (running) return { task: running };

  const vm = await findVm(ctx, vmId, signal);
  if (vm.values["runtime.powerState"] !== "poweredOff") {
    throw ProviderError.conflict(`vm ${vmId} must be powered off for its disks to be exported`);
  }
  const disk = disksOf(vm.values).find((d) => d.name === diskName)?.disk;
  if (!disk) throw ProviderError.notFound(`vm ${vmId} has no disk named ${diskName}`);
  const backing = disk.backing as VirtualDiskFlatVer2BackingInfo | undefined;
  if (backing?._type !== "VirtualDiskFlatVer2BackingInfo") {
    throw ProviderError.unsupported(
      `the disk ${diskName} is a ${backing?._type ?? "disk without a file"}, not a flat VMDK`,
    );
  }
  // With snapshots, the disk's current state is a delta over its base: the
  // flat extent alone is not the disk. vcsim makes no deltas, so the snapshot
  // tree is checked too.
  if (backing.parent || (await snapshotsOf(ctx, vm.ref, signal)).length > 0) {
    throw ProviderError.conflict(
      `vm ${vmId} has snapshots (its disks are deltas over their base); delete them first`,
    );
  }
  const { source, sizeBytes } = await flatSourceOf(ctx, diskFileName(disk), signal);
  const key = `export/${exportId}`;
  const task = ctx.startTask(`export ${diskName} of ${vmId}`, async (s, progress) => {
    try {
      const sha256 = await checksum(ctx, source, s, progress, sizeBytes);
      // DiskExportEnd while the checksum ran: the export is gone, leave no record.
      if (ctx.diskTasks.get(key) !== task) return;
      await ctx.staging.writeExport({
        exportId,
        vmId,
        diskName,
        sizeBytes,
        capacityBytes: capacityBytes(disk),
        sha256,
        source,
      });
    } finally {
      if (ctx.diskTasks.get(key) === task) ctx.diskTasks.delete(key);
    }
  });
  ctx.diskTasks.set(key, task);
  return { task };
};
