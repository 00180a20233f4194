import { ImageFormat, PowerState, ProviderError, chunkOf, sha256Hex } from "@virtrigaud/contracts";
import type { ExportRecord } from "./disk-store.js";
import { type MockContext, type MockOperation, readyVm, runTask } from "./mock-context.js";
import { capacityBytes, diskFormat, readDiskBytes } from "./vm-disks.js";

/** The wire form of a made export. */
function describeExport(record: ExportRecord, bytes: Uint8Array) {
  return {
    id: record.id,
    format: record.format,
    sizeBytes: BigInt(bytes.length),
    sha256: record.sha256,
    capacityBytes: BigInt(record.capacityBytes),
    changedRanges: record.changedRanges.map(([from, to]) => ({
      offset: BigInt(from),
      length: BigInt(to - from),
    })),
  };
}

/** An export is made or being made: its answer. */
function answerOf(record: ExportRecord) {
  return record.bytes
    ? { export: describeExport(record, record.bytes) }
    : { task: { id: record.taskId } };
}

/**
 * DiskExportBegin: once per export id. The disk's bytes (at the snapshot,
 * when one is named) are copied (so later changes of the VM do not reach
 * the export) and hashed; with a latency, by a task. The mock does not
 * convert: an export in RAW or QCOW2 holds the disk's bytes as they are,
 * which is all a caller can check. Changed since a snapshot, the export
 * lists the ranges the simulated guest wrote after it.
 *
 * @throws ProviderError NOT_FOUND for an unknown VM, disk or snapshot;
 * CONFLICT when the VM runs and no snapshot is named, or when the export id
 * names another disk; INVALID_SPEC for both snapshot fields, or changes in
 * a format other than RAW; RESOURCE_EXHAUSTED past --disk-memory.
 */
export const diskExportBegin: MockOperation<"diskExportBegin"> = (ctx, request) => {
  const existing = ctx.disks.exports.get(request.exportId);
  if (existing) {
    if (existing.vmId !== request.vmId || existing.diskName !== request.diskName) {
      throw ProviderError.conflict(
        `export ${request.exportId} is of disk ${existing.diskName} of vm ${existing.vmId}`,
      );
    }
    return Promise.resolve(answerOf(existing));
  }
  const vm = readyVm(ctx, request.vmId);
  const disk = vm.config.disks.find((d) => d.name === request.diskName);
  if (!disk) throw ProviderError.notFound(`vm ${vm.id} has no disk ${request.diskName}`);
  const since = request.changedSinceSnapshotId;
  if (since && request.snapshotId) {
    throw ProviderError.invalidSpec(
      "changed_since_snapshot_id",
      "exports the disk as it is now: not with snapshot_id",
    );
  }
  if (since && request.format && request.format !== ImageFormat.RAW) {
    throw ProviderError.invalidSpec("format", "changed ranges are exported in RAW only");
  }
  for (const id of [request.snapshotId, since]) {
    if (id && !vm.snapshots.some((s) => s.id === id)) {
      throw ProviderError.notFound(`vm ${vm.id} has no snapshot ${id}`);
    }
  }
  if (!request.snapshotId && vm.powerState !== PowerState.OFF) {
    throw ProviderError.conflict(`vm ${vm.id} is not off: power it off, or export from a snapshot`);
  }
  const record: ExportRecord = {
    id: request.exportId,
    vmId: vm.id,
    diskName: disk.name,
    snapshotId: request.snapshotId,
    format: since ? ImageFormat.RAW : request.format || diskFormat(ctx.disks, disk),
    capacityBytes: capacityBytes(disk),
    bytes: undefined,
    sha256: "",
    taskId: "",
    changedRanges: [],
  };
  const freeze = () => {
    const bytes = readDiskBytes(ctx.disks, vm, disk, request.snapshotId || undefined);
    if (since)
      record.changedRanges = ctx.disks.guest.changedSince(vm.id, disk.name, since, bytes.length);
    ctx.disks.reserve(bytes.length, `export ${record.id}`);
    record.sha256 = sha256Hex(bytes);
    record.bytes = bytes;
  };
  ctx.disks.exports.set(record.id, record);
  if (ctx.latencyMs === 0) {
    try {
      freeze();
    } catch (error) {
      ctx.disks.exports.delete(record.id);
      throw error;
    }
    return Promise.resolve(answerOf(record));
  }
  record.taskId = runTask(ctx, "diskExportBegin", `export ${disk.name} of ${vm.name}`, freeze, () =>
    ctx.disks.exports.delete(record.id),
  ).id;
  return Promise.resolve(answerOf(record));
};

/** A made export, or NOT_FOUND (or RETRYABLE while it is being made). */
function readyExport(ctx: MockContext, exportId: string): Uint8Array {
  const record = ctx.disks.exports.get(exportId);
  if (!record) throw ProviderError.notFound(`export ${exportId} does not exist`);
  if (!record.bytes) {
    throw ProviderError.retryable(`export ${exportId} is still being made`, {
      retryAfterMs: Math.max(100, ctx.latencyMs),
    });
  }
  return record.bytes;
}

/**
 * DiskExportRead: the bytes of a range, cut at the end of the file; a range
 * of zeros as zero_length.
 */
export const diskExportRead: MockOperation<"diskExportRead"> = (ctx, request) => {
  const bytes = readyExport(ctx, request.exportId);
  const start = Number(request.offset);
  if (start > bytes.length) {
    throw ProviderError.invalidSpec(
      "offset",
      `is past the end of the export (${bytes.length} bytes)`,
    );
  }
  const range = bytes.subarray(start, Math.min(bytes.length, start + request.length));
  return Promise.resolve({ chunk: chunkOf(start, range) });
};

/** DiskExportEnd: drops the export; one that does not exist is ended already. */
export const diskExportEnd: MockOperation<"diskExportEnd"> = (ctx, request) => {
  ctx.disks.dropExport(request.exportId);
  return Promise.resolve({});
};
