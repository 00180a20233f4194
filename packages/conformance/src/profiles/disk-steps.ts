// What the disk cases share: the steps of an export and an import, and the
// suite's own SHA-256 (it checks the SDK's providers, so it does not use theirs).
import { createHash } from "node:crypto";
import {
  type Capabilities,
  ErrorReason,
  ImageFormat,
  type ImageSource,
} from "@virtrigaud/contracts";
import { check, checkEqual, expectSuccess } from "../suite/checks.js";
import type { CaseContext } from "../suite/types.js";

export function exportsDisks(c: Capabilities): boolean {
  return c.diskExportFormats.length > 0;
}

export function importsDisks(c: Capabilities): boolean {
  return c.diskImportFormats.length > 0;
}

export const UNSUPPORTED = [ErrorReason.UNSUPPORTED];

/** The disk the cases export, unless the run names one: a small data disk of a VM they create. */
export const dataDisk = { name: "vcts-data", sizeGib: 1 };

/** A format the provider both exports and imports, so that its own export can come back. */
function roundTripFormat(c: Capabilities): ImageFormat {
  const format = c.diskExportFormats.find((f) => c.diskImportFormats.includes(f));
  check(
    format,
    `no format is declared for both export (${c.diskExportFormats.map((f) => ImageFormat[f]).join(", ")}) and import (${c.diskImportFormats.map((f) => ImageFormat[f]).join(", ")})`,
  );
  return format;
}

/**
 * DiskExportBegin until the export is made (following its task), twice: the
 * same export. `at` exports the disk at a snapshot, or lists the ranges
 * changed since one.
 */
export async function beginExport(
  t: CaseContext,
  vmId: string,
  diskName: string,
  format: ImageFormat,
  at: { snapshotId?: string; changedSinceSnapshotId?: string } = {},
) {
  const exportId = t.name("exp");
  const request = { exportId, vmId, diskName, format, ...at };
  const first = await expectSuccess(
    t.client.diskExportBegin(request, { signal: t.signal }),
    `DiskExportBegin of ${diskName}`,
  );
  await expectSuccess(t.wait(first.task), `the task of DiskExportBegin of ${diskName}`);
  const made = await expectSuccess(
    t.client.diskExportBegin(request, { signal: t.signal }),
    `DiskExportBegin of ${diskName} again`,
  );
  check(
    made.export,
    `DiskExportBegin of ${diskName} again, once its task was done, gave no export`,
  );
  if (first.export) checkEqual(made.export, first.export, `DiskExportBegin of ${diskName} again`);
  check(
    made.export.id === exportId,
    `DiskExportBegin answered export ${made.export.id}, not ${exportId}`,
  );
  check(/^[0-9a-f]{64}$/i.test(made.export.sha256), "the export's sha256 is not 64 hex digits");
  return made.export;
}

/**
 * An export (ended when the case is done) of the run's `exportDisk`, or else
 * of the data disk of a VM the case creates, off.
 */
export async function exportedDataDisk(t: CaseContext, hint: string, ends: string[]) {
  const format = roundTripFormat(t.capabilities);
  const { vmId, diskName } =
    t.options.exportDisk ??
    ({
      vmId: await t.createVm(hint, { disks: [dataDisk], powerOn: false }),
      diskName: dataDisk.name,
    } as const);
  const { disks } = await expectSuccess(
    t.client.describeDisks({ vmId }, { signal: t.signal }),
    "DescribeDisks",
  );
  check(
    disks.some((d) => d.name === diskName),
    `DescribeDisks of ${vmId} does not list the disk ${diskName}: ${disks.map((d) => d.name).join(", ")}`,
  );
  const made = await beginExport(t, vmId, diskName, format);
  ends.push(made.id);
  return made;
}

/** Ends exports and aborts imports a case made; what fails here is reported by the sweep, not the case. */
export async function cleanUp(t: CaseContext, exports: string[], imports: string[]) {
  const quietly = (call: Promise<unknown>) => call.catch(() => undefined);
  for (const exportId of exports) await quietly(t.client.diskExportEnd({ exportId }));
  for (const importId of imports) await quietly(t.client.diskImportAbort({ importId }));
}

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Begins a small import of `bytes`: RAW when declared, where any bytes are a valid file. */
export async function beginSmallImport(t: CaseContext, bytes: Uint8Array, imports: string[]) {
  const importId = t.name("imp");
  imports.push(importId);
  const request = {
    importId,
    format: t.capabilities.diskImportFormats.includes(ImageFormat.RAW)
      ? ImageFormat.RAW
      : (t.capabilities.diskImportFormats[0] ?? ImageFormat.RAW),
    sizeBytes: BigInt(bytes.length),
    sha256: sha256(bytes),
  };
  const begun = await expectSuccess(
    t.client.diskImportBegin(request, { signal: t.signal }),
    "DiskImportBegin",
  );
  check(begun.import, "DiskImportBegin returned no import");
  return { importId, request, begun: begun.import };
}

/**
 * DiskImportCommit, following its task when the check runs long; `sha256`
 * is the whole file's new checksum after a rewrite, or empty.
 */
export async function commitImport(t: CaseContext, importId: string, newSha256 = "") {
  const request = { importId, sha256: newSha256 };
  const first = await t.client.diskImportCommit(request, { signal: t.signal });
  if (!first.task) return first;
  await t.wait(first.task);
  return t.client.diskImportCommit(request, { signal: t.signal });
}

/**
 * A VM made (off) from a committed import, and an export of its first disk
 * in `format` (ended when the case is done, by `ends`).
 */
export async function exportOfVmFrom(
  t: CaseContext,
  hint: string,
  image: ImageSource,
  format: ImageFormat,
  ends: string[],
) {
  const vmId = await t.createVm(hint, { image, powerOn: false });
  const { disks } = await expectSuccess(
    t.client.describeDisks({ vmId }, { signal: t.signal }),
    "DescribeDisks of the VM made from the import",
  );
  const root = disks[0];
  check(root, "DescribeDisks of the VM made from the import lists no disk");
  const made = await beginExport(t, vmId, root.name, format);
  ends.push(made.id);
  return made;
}
