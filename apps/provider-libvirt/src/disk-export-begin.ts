import { create } from "@bufbuild/protobuf";
import {
  type DiskExport,
  DiskExportSchema,
  PowerState,
  ProviderError,
  type ProviderRequest,
} from "@virtrigaud/contracts";
import { type Extents, dataExtentsOf } from "./disks/data-extents.js";
import { qcow2ChangedSince } from "./disks/qcow2-changes.js";
import { listSnapshots } from "./snapshots.js";
import { type DiskFormat, imageFormatOf, requestedFormat } from "./disks/disk-format.js";
import { hostFileSha256 } from "./disks/host-file-sha256.js";
import type { ExportRecord } from "./disks/transfer-area.js";
import { vmDisks } from "./disks/vm-disks.js";
import { powerStateOf } from "./inventory/inventory.js";
import type { LibvirtContext, LibvirtOperation } from "./libvirt-context.js";
import { vmTask } from "./vm-tasks.js";

/** The contract's view of a ready export. */
function exportOf(record: ExportRecord): DiskExport {
  return create(DiskExportSchema, {
    id: record.id,
    format: imageFormatOf(record.format),
    sizeBytes: BigInt(record.sizeBytes),
    sha256: record.sha256,
    capacityBytes: BigInt(record.capacityBytes),
    changedRanges: (record.changedRanges ?? []).map(([start, end]) => ({
      offset: BigInt(start),
      length: BigInt(end - start),
    })),
  });
}

/** qemu's option syntax: a comma in a value is written twice. */
function optionValue(value: string): string {
  return value.replace(/,/g, ",,");
}

/**
 * The export's record, from this process's table or the host.
 *
 * @throws ProviderError NOT_FOUND when there is no such export; RETRYABLE while it is being made.
 */
export async function readyExport(
  ctx: LibvirtContext,
  id: string,
  signal: AbortSignal,
): Promise<ExportRecord> {
  const known = ctx.transfers.ready.get(id);
  if (known) return known;
  const record = await ctx.transfers.read<ExportRecord>("export", id, signal);
  if (!record) throw ProviderError.notFound(`no disk export ${JSON.stringify(id)}`);
  if (!record.ready) {
    throw ProviderError.retryable(`disk export ${JSON.stringify(id)} is still being made`, {
      retryAfterMs: 1000,
    });
  }
  ctx.transfers.ready.set(id, record);
  return record;
}

/**
 * Converts the disk into the staging file with qemu-img (holes stay holes:
 * qemu-img writes no zeros), hashes it and syncs it to the host's disk, and
 * records it as ready. The output
 * is written under a partial name and renamed once complete, so a file
 * named as the export's data is always whole.
 *
 * At an internal snapshot (`record.snapshotId`) of a running VM, qemu-img
 * reads the snapshot's own clusters with the image shared (-U): a cluster a
 * snapshot holds is never written in place (qemu copies it on its first
 * write), and savevm flushed the snapshot's tables, so what it reads does
 * not move while the guest writes. Changed since a snapshot
 * (`record.changedSince`, the VM off), the image's tables give the ranges
 * (qcow2ChangedSince).
 */
async function convert(
  ctx: LibvirtContext,
  record: ExportRecord,
  source: { path: string; format: string },
  signal: AbortSignal,
): Promise<void> {
  const files = await ctx.transfers.files("export", record.id, signal);
  await ctx.transfers.write(record, undefined, signal);
  const atSnapshot = record.snapshotId
    ? ["-U", "-l", `snapshot.name=${optionValue(record.snapshotId)}`]
    : [];
  try {
    await ctx.execOk(
      [
        "qemu-img",
        "convert",
        "-q",
        ...atSnapshot,
        "-f",
        source.format,
        "-O",
        record.format,
        "--",
        source.path,
        files.partial,
      ],
      signal,
    );
    const changedRanges = record.changedSince
      ? await changedRangesOf(ctx, source.path, record.changedSince, signal)
      : undefined;
    // The file reaches the host's disk while it is hashed from the page
    // cache: before the ready record claims it, and in the hash's time.
    const [digest, size, info, map] = await Promise.all([
      hostFileSha256(ctx, files.partial, signal),
      ctx.execOk(["stat", "-c", "%s", "--", files.partial], signal),
      ctx.execOk(
        ["qemu-img", "info", "-U", "--output=json", "-f", source.format, "--", source.path],
        signal,
      ),
      // The file's holes, as the file system has them: reads there need no I/O.
      ctx.execOk(["qemu-img", "map", "--output=json", "-f", "raw", "--", files.partial], signal),
      ctx.execOk(["sync", "-d", "--", files.partial], signal),
    ]);
    await ctx.execOk(["mv", "-f", "--", files.partial, files.data], signal);
    const ready: ExportRecord = {
      ...record,
      ready: true,
      sha256: digest,
      sizeBytes: Number(size.trim()),
      capacityBytes: (JSON.parse(info) as { "virtual-size"?: number })["virtual-size"] ?? 0,
      dataExtents: dataExtentsOf(map),
      ...(changedRanges ? { changedRanges } : {}),
    };
    await ctx.transfers.write(ready, undefined, signal);
    ctx.transfers.ready.set(record.id, ready);
  } catch (err) {
    await ctx.host.exec(["rm", "-f", "--", files.partial]).catch(() => undefined);
    throw err;
  }
}

/** The ranges of the image at `path` changed since its internal snapshot `name`, read over SFTP. */
async function changedRangesOf(
  ctx: LibvirtContext,
  path: string,
  name: string,
  signal: AbortSignal,
): Promise<Extents> {
  const file = await ctx.host.openFile(path, "r", signal);
  try {
    const ranges = await qcow2ChangedSince((offset, length) => file.read(offset, length), name);
    return ranges.map(([start, end]) => [start, end] as const);
  } finally {
    await file.close();
  }
}

function sameExport(a: ExportRecord, r: ProviderRequest<"diskExportBegin">, format: DiskFormat) {
  return (
    a.vmId === r.vmId &&
    a.diskName === r.diskName &&
    a.format === format &&
    (a.snapshotId ?? "") === r.snapshotId &&
    (a.changedSince ?? "") === r.changedSinceSnapshotId
  );
}

/**
 * DiskExportBegin: once per export id. A ready export is the answer; a
 * conversion under way answers with its task; otherwise the VM is checked
 * (powered off: its disk does not change while it is read; or exported at
 * an internal snapshot, which does not change either) and a task converts
 * the disk while holding the VM, so no Power starts it meanwhile. Changed
 * since a snapshot, the export is RAW and lists the changed ranges. The
 * record beside the staging file lets a restarted provider find the export.
 *
 * @throws ProviderError CONFLICT when the VM is not off and no snapshot is
 * named, or the id names another export; INVALID_SPEC for an unknown disk,
 * a format other than qcow2 and raw (RAW only for changed ranges), both
 * snapshot fields, or a snapshot of a disk that is not qcow2; NOT_FOUND for
 * an unknown snapshot; RETRYABLE while another operation holds the VM.
 */
export const diskExportBegin: LibvirtOperation<"diskExportBegin"> = async (
  ctx,
  request,
  signal,
) => {
  const id = request.exportId;
  const running = ctx.transfers.converting.get(id);
  if (running) return { task: running.task };
  const view = await ctx.findManaged(request.vmId, signal);
  const disk = vmDisks(view.info).find((d) => d.name === request.diskName);
  if (!disk) {
    throw ProviderError.invalidSpec(
      "disk_name",
      `vm ${view.info.name} has no disk named ${JSON.stringify(request.diskName)}`,
    );
  }
  const own = disk.format === "qcow2" || disk.format === "raw" ? disk.format : undefined;
  const since = request.changedSinceSnapshotId;
  if (since && request.snapshotId)
    throw ProviderError.invalidSpec(
      "changed_since_snapshot_id",
      "exports the disk as it is now: not with snapshot_id",
    );
  // Changed ranges are the guest's offsets: only a RAW file has them as its own.
  const format = requestedFormat(request.format, "format", since ? "raw" : own);
  if (since && format !== "raw")
    throw ProviderError.invalidSpec("format", "changed ranges are exported in RAW only");
  const snapshot = request.snapshotId || since;
  if (snapshot) {
    if (disk.format !== "qcow2")
      throw ProviderError.invalidSpec(
        "disk_name",
        `disk ${disk.name} is not qcow2: it has no snapshots`,
      );
    const known = await listSnapshots(ctx, view.info.uuid, signal);
    if (!known.some((s) => s.name === snapshot))
      throw ProviderError.notFound(`vm ${view.info.name} has no snapshot ${snapshot}`);
  }
  const existing = await ctx.transfers.read<ExportRecord>("export", id, signal);
  if (existing && !sameExport(existing, request, format)) {
    throw ProviderError.conflict(
      `disk export ${JSON.stringify(id)} exists for another disk or format; end it or choose another id`,
    );
  }
  if (existing?.ready) return { export: exportOf(existing) };
  const answer = await ctx.transfers.exportsOnce.run(
    id,
    (keep) => {
      const again = ctx.transfers.converting.get(id);
      if (again) return Promise.resolve({ task: again.task });
      if (!request.snapshotId && powerStateOf(view.stats?.state ?? 0) !== PowerState.OFF) {
        throw ProviderError.conflict(
          `vm ${view.info.name} is not powered off: its disks are exported only when it is off, or at a snapshot`,
        );
      }
      const release = keep();
      const abort = new AbortController();
      const record: ExportRecord = {
        kind: "export",
        id,
        vmId: request.vmId,
        diskName: request.diskName,
        format,
        ready: false,
        sizeBytes: 0,
        sha256: "",
        capacityBytes: 0,
        dataExtents: [],
        ...(request.snapshotId ? { snapshotId: request.snapshotId } : {}),
        ...(since ? { changedSince: since } : {}),
      };
      try {
        const task = vmTask(ctx, view, "export disk of", async (taskSignal) => {
          try {
            await convert(ctx, record, disk, AbortSignal.any([taskSignal, abort.signal]));
          } finally {
            ctx.transfers.converting.delete(id);
            release();
          }
        });
        const settled = ctx.tasks.settled(task.id).then(() => undefined);
        ctx.transfers.converting.set(id, { task, abort, settled });
        return Promise.resolve({ task });
      } catch (err) {
        release();
        throw err;
      }
    },
    signal,
  );
  return answer.task ? { task: answer.task } : {};
};
