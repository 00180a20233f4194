import {
  type Capabilities,
  ErrorReason,
  ImageFormat,
  PowerOperation,
  PowerState,
} from "@virtrigaud/contracts";
import { check, checkEqual, expectReason, expectSuccess } from "../suite/checks.js";
import type { CaseContext, ConformanceCase, Profile } from "../suite/types.js";
import {
  UNSUPPORTED,
  beginExport,
  beginSmallImport,
  cleanUp,
  commitImport,
  dataDisk,
  exportOfVmFrom,
  sha256,
} from "./disk-steps.js";
import { takeSnapshot } from "./snapshot.js";

export const diskSyncProfile: Profile = {
  name: "disk-sync",
  description:
    "What a live migration's final sync rests on: a disk exported at a snapshot while its VM runs, the ranges changed since a snapshot, and an import written again and committed under its new sha256",
  declared: (c) => c.diskExportFromSnapshot || c.diskExportChangedRanges || c.diskImportRewrites,
};

/** RAW when exported: its bytes are the guest's own, so two exports of unchanged data are equal. */
function comparableFormat(c: Capabilities): ImageFormat {
  if (c.diskExportFormats.includes(ImageFormat.RAW)) return ImageFormat.RAW;
  const format = c.diskExportFormats[0];
  check(format !== undefined, "no disk export format is declared");
  return format;
}

/** A request for an export id no provider has yet, of the data disk: the refusals change it. */
const refusedRequest = (t: CaseContext, vmId: string) => ({
  exportId: t.name("refused"),
  vmId,
  diskName: dataDisk.name,
});

/**
 * The ranges of an export that lists changes: each inside the file, not
 * empty, in order and apart, as DiskExport.changed_ranges promises.
 */
function checkRanges(ranges: ReadonlyArray<{ offset: bigint; length: bigint }>, size: bigint) {
  let end = 0n;
  for (const [i, range] of ranges.entries()) {
    check(range.length > 0n, `changed range ${i} is empty`);
    check(
      range.offset >= end,
      `changed range ${i} at ${range.offset} is not after the one before it (which ends at ${end})`,
    );
    end = range.offset + range.length;
    check(end <= size, `changed range ${i} ends at ${end}, past the file's ${size} bytes`);
  }
  return ranges.reduce((sum, r) => sum + r.length, 0n);
}

/** `length` bytes of a pattern that repeats nowhere a chunk boundary falls. */
function patterned(length: number, seed: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + seed + (i >> 9)) & 0xff);
}

/** The suite's own DiskChunk of `bytes` at `offset`, or of `zeros` zero bytes. */
function chunk(offset: number, content: Uint8Array | { zeros: number }) {
  if (content instanceof Uint8Array) {
    return {
      offset: BigInt(offset),
      content: { case: "data" as const, value: content },
      sha256: sha256(content),
    };
  }
  return {
    offset: BigInt(offset),
    content: { case: "zeroLength" as const, value: BigInt(content.zeros) },
    sha256: sha256(new Uint8Array(content.zeros)),
  };
}

async function writeChunk(t: CaseContext, importId: string, c: ReturnType<typeof chunk>) {
  await expectSuccess(
    t.client.diskImportWrite({ importId, chunk: c }, { signal: t.signal }),
    `DiskImportWrite at ${c.offset}`,
  );
}

const rewriteChunkBytes = 65536;

export const diskSyncCases: ConformanceCase[] = [
  {
    id: "disk-sync/at-snapshot",
    profile: "disk-sync",
    title:
      "A running VM's disk exported at a snapshot is the disk as it was then (the same sha256), the VM stays on; without a snapshot, or at an unknown one, Begin is refused",
    declared: (c) => c.diskExportFromSnapshot,
    async run(t) {
      const exports: string[] = [];
      try {
        const format = comparableFormat(t.capabilities);
        const vmId = await t.createVm("at-snap", { disks: [dataDisk], powerOn: false });
        const before = await beginExport(t, vmId, dataDisk.name, format);
        exports.push(before.id);
        const snapshotId = await takeSnapshot(t, vmId, "at");
        await t.runTask(
          t.client.power({ vmId, operation: PowerOperation.ON }, { signal: t.signal }),
          "Power ON",
        );
        await t.eventually(
          vmId,
          "Describe shows the VM on",
          (vm) => vm.powerState === PowerState.ON,
        );
        await expectReason(
          t.client.diskExportBegin({ ...refusedRequest(t, vmId), format }, { signal: t.signal }),
          [ErrorReason.CONFLICT],
          "DiskExportBegin of a running VM's disk without a snapshot",
        );
        await expectReason(
          t.client.diskExportBegin(
            { ...refusedRequest(t, vmId), format, snapshotId: t.name("none") },
            { signal: t.signal },
          ),
          [ErrorReason.NOT_FOUND],
          "DiskExportBegin at a snapshot the VM does not have",
        );
        const at = await beginExport(t, vmId, dataDisk.name, format, { snapshotId });
        exports.push(at.id);
        if (format === ImageFormat.RAW) {
          checkEqual(
            { sha256: at.sha256.toLowerCase(), sizeBytes: at.sizeBytes },
            { sha256: before.sha256.toLowerCase(), sizeBytes: before.sizeBytes },
            "the RAW export at the snapshot, against the one made just before it",
          );
        } else {
          checkEqual(
            at.capacityBytes,
            before.capacityBytes,
            "capacity_bytes of the export at the snapshot",
          );
        }
        checkEqual(
          (await t.describe(vmId)).powerState,
          PowerState.ON,
          "the VM's power state after the export at the snapshot",
        );
        t.log(`exported ${at.sizeBytes} bytes at snapshot ${snapshotId} while the VM ran`);
      } finally {
        await cleanUp(t, exports, []);
      }
    },
    async unsupported(t) {
      // UNSUPPORTED either way: the feature, or disk exports at all.
      await expectReason(
        t.client.diskExportBegin(
          { ...refusedRequest(t, "vcts-none"), snapshotId: "vcts-none" },
          { signal: t.signal },
        ),
        UNSUPPORTED,
        "DiskExportBegin with snapshot_id when disk_export_from_snapshot is not declared",
      );
    },
  },
  {
    id: "disk-sync/changed-ranges",
    profile: "disk-sync",
    title:
      "An export of the ranges changed since a snapshot is the disk now in RAW (the sha256 of a plain RAW export) with ranges inside it, in order and apart; with snapshot_id too, in another format, or since an unknown snapshot it is refused",
    declared: (c) => c.diskExportChangedRanges,
    async run(t) {
      const exports: string[] = [];
      try {
        const vmId = await t.createVm("changed", { disks: [dataDisk], powerOn: false });
        const snapshotId = await takeSnapshot(t, vmId, "base");
        const now = await beginExport(t, vmId, dataDisk.name, ImageFormat.RAW);
        exports.push(now.id);
        const since = await beginExport(t, vmId, dataDisk.name, ImageFormat.UNSPECIFIED, {
          changedSinceSnapshotId: snapshotId,
        });
        exports.push(since.id);
        checkEqual(since.format, ImageFormat.RAW, "the format of an export of changed ranges");
        checkEqual(
          { sha256: since.sha256.toLowerCase(), sizeBytes: since.sizeBytes },
          { sha256: now.sha256.toLowerCase(), sizeBytes: now.sizeBytes },
          "the export of changed ranges, against a plain RAW export of the same disk",
        );
        const changed = checkRanges(since.changedRanges, since.sizeBytes);
        const invalid = [ErrorReason.INVALID_SPEC];
        const both = await expectReason(
          t.client.diskExportBegin(
            { ...refusedRequest(t, vmId), snapshotId, changedSinceSnapshotId: snapshotId },
            { signal: t.signal },
          ),
          invalid,
          "DiskExportBegin with both snapshot_id and changed_since_snapshot_id",
        );
        checkEqual(
          both.field,
          "changed_since_snapshot_id",
          "the field named by the refusal of both ids",
        );
        const qcow2 = await expectReason(
          t.client.diskExportBegin(
            {
              ...refusedRequest(t, vmId),
              format: ImageFormat.QCOW2,
              changedSinceSnapshotId: snapshotId,
            },
            { signal: t.signal },
          ),
          [...invalid, ...UNSUPPORTED],
          "DiskExportBegin of changed ranges in QCOW2",
        );
        if (qcow2.reason === ErrorReason.INVALID_SPEC) {
          checkEqual(qcow2.field, "format", "the field named by the refusal of QCOW2");
        }
        await expectReason(
          t.client.diskExportBegin(
            { ...refusedRequest(t, vmId), changedSinceSnapshotId: t.name("none") },
            { signal: t.signal },
          ),
          [ErrorReason.NOT_FOUND],
          "DiskExportBegin of the ranges changed since a snapshot the VM does not have",
        );
        t.log(
          `${since.changedRanges.length} ranges (${changed} of ${since.sizeBytes} bytes) changed since an untouched snapshot`,
        );
      } finally {
        await cleanUp(t, exports, []);
      }
    },
    async unsupported(t) {
      await expectReason(
        t.client.diskExportBegin(
          { ...refusedRequest(t, "vcts-none"), changedSinceSnapshotId: "vcts-none" },
          { signal: t.signal },
        ),
        UNSUPPORTED,
        "DiskExportBegin with changed_since_snapshot_id when disk_export_changed_ranges is not declared",
      );
    },
  },
  {
    id: "disk-sync/rewrite",
    profile: "disk-sync",
    title:
      "Ranges written again over a received import (data and zero_length): a commit under the old sha256 is DATA_LOSS, the import is written again and commits under the new one, and a VM made from it holds the new bytes",
    declared: (c) => c.diskImportRewrites,
    async run(t) {
      const exports: string[] = [];
      const imports: string[] = [];
      try {
        const n = rewriteChunkBytes;
        const original = patterned(3 * n, 1);
        const rewritten = Uint8Array.from(original);
        rewritten.set(patterned(n, 99), n);
        rewritten.fill(0, 2 * n);
        const { importId } = await beginSmallImport(t, original, imports);
        for (let at = 0; at < original.length; at += n) {
          await writeChunk(t, importId, chunk(at, original.subarray(at, at + n)));
        }
        const rewrites = [chunk(n, rewritten.subarray(n, 2 * n)), chunk(2 * n, { zeros: n })];
        for (const c of rewrites) await writeChunk(t, importId, c);
        await expectReason(
          commitImport(t, importId),
          [ErrorReason.DATA_LOSS],
          "DiskImportCommit under the sha256 DiskImportBegin declared, after ranges were written again",
        );
        // The contract: after DATA_LOSS the import can be written again.
        await writeChunk(t, importId, chunk(0, rewritten.subarray(0, n)));
        for (const c of rewrites) await writeChunk(t, importId, c);
        const committed = await expectSuccess(
          commitImport(t, importId, sha256(rewritten)),
          "DiskImportCommit under the rewritten file's sha256",
        );
        check(committed.import?.committed, "the import is not committed");
        check(committed.disk, "DiskImportCommit answered no disk");
        if (!t.capabilities.diskExportFormats.includes(ImageFormat.RAW)) {
          t.log("RAW is not exported: the VM made from the import is not read back");
          return;
        }
        const back = await exportOfVmFrom(t, "rewritten", committed.disk, ImageFormat.RAW, exports);
        checkEqual(
          { sha256: back.sha256.toLowerCase(), sizeBytes: back.sizeBytes },
          { sha256: sha256(rewritten), sizeBytes: BigInt(rewritten.length) },
          "the RAW export of the VM made from the rewritten import",
        );
        t.log(`${rewritten.length} bytes, two ranges written again, read back from a VM`);
      } finally {
        await cleanUp(t, exports, imports);
      }
    },
    async unsupported(t) {
      await expectReason(
        t.client.diskImportCommit(
          { importId: "vcts-none", sha256: "0".repeat(64) },
          { signal: t.signal },
        ),
        UNSUPPORTED,
        "DiskImportCommit with sha256 when disk_import_rewrites is not declared",
      );
    },
  },
];
