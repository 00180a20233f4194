import { ErrorReason, ImageFormat, copyDisk, pullDisk } from "@virtrigaud/contracts";
import { check, checkEqual, expectReason, expectSuccess } from "../suite/checks.js";
import type { ConformanceCase, Profile } from "../suite/types.js";
import {
  UNSUPPORTED,
  beginSmallImport,
  cleanUp,
  exportedDataDisk,
  exportOfVmFrom,
  exportsDisks,
  importsDisks,
  sha256,
} from "./disk-steps.js";

export const diskProfile: Profile = {
  name: "disk",
  description:
    "Disk export and import: a round trip returns the same bytes, damaged chunks are refused, Begin is idempotent and resumes, End and Abort are idempotent",
  declared: (c) => exportsDisks(c) && importsDisks(c),
};

export const diskCases: ConformanceCase[] = [
  {
    id: "disk/round-trip",
    profile: "disk",
    title:
      "Export a disk, import it under a new id, commit, create a VM from it, export that: the same sha256 and size",
    declared: (c) => exportsDisks(c) && importsDisks(c),
    async run(t) {
      const exports: string[] = [];
      const imports: string[] = [];
      try {
        const made = await exportedDataDisk(t, "disk-src", exports);
        const importId = t.name("imp");
        imports.push(importId);
        const copied = await expectSuccess(
          copyDisk({
            source: t.client,
            target: t.client,
            export: made,
            importId,
            signal: t.signal,
          }),
          `copying export ${made.id} into import ${importId}`,
        );
        checkEqual(
          copied.disk.source,
          { case: "importedDisk", value: importId },
          "the disk DiskImportCommit answered",
        );
        const again = await exportOfVmFrom(t, "disk-dst", copied.disk, made.format, exports);
        checkEqual(
          { sha256: again.sha256.toLowerCase(), sizeBytes: again.sizeBytes },
          { sha256: made.sha256.toLowerCase(), sizeBytes: made.sizeBytes },
          "the export of the VM made from the import",
        );
        t.log(`${made.sizeBytes} bytes went out and came back with sha256 ${made.sha256}`);
      } finally {
        await cleanUp(t, exports, imports);
      }
    },
    async unsupported(t) {
      if (!exportsDisks(t.capabilities)) {
        await expectReason(
          t.client.describeDisks({ vmId: "vcts-none" }, { signal: t.signal }),
          UNSUPPORTED,
          "DescribeDisks when disk_export_formats is empty",
        );
      }
      if (!importsDisks(t.capabilities)) {
        await expectReason(
          t.client.diskImportBegin(
            {
              importId: t.name("imp"),
              format: ImageFormat.RAW,
              sizeBytes: 1n,
              sha256: "0".repeat(64),
            },
            { signal: t.signal },
          ),
          UNSUPPORTED,
          "DiskImportBegin when disk_import_formats is empty",
        );
        await expectReason(
          t.client.create(
            t.vmRequest(t.name("imp"), {
              image: { source: { case: "importedDisk", value: "vcts-none" } },
            }),
            { signal: t.signal },
          ),
          UNSUPPORTED,
          "Create from an imported disk when disk_import_formats is empty",
        );
      }
    },
  },
  {
    id: "disk/damaged-chunk",
    profile: "disk",
    title: "A chunk whose sha256 does not match its bytes is refused with DATA_LOSS and not kept",
    declared: importsDisks,
    async run(t) {
      const imports: string[] = [];
      try {
        const bytes = new Uint8Array(4096).map((_, i) => (i * 13) & 0xff);
        const { importId, request } = await beginSmallImport(t, bytes, imports);
        const damaged = Uint8Array.from(bytes);
        damaged[0] = (damaged[0] ?? 0) ^ 0xff;
        await expectReason(
          t.client.diskImportWrite(
            {
              importId,
              chunk: {
                offset: 0n,
                content: { case: "data", value: damaged },
                sha256: sha256(bytes),
              },
            },
            { signal: t.signal },
          ),
          [ErrorReason.DATA_LOSS],
          "DiskImportWrite of a chunk whose bytes do not match its sha256",
        );
        const after = await expectSuccess(
          t.client.diskImportBegin(request, { signal: t.signal }),
          "DiskImportBegin after the damaged chunk",
        );
        checkEqual(
          after.import?.receivedBytes,
          0n,
          "received_bytes after a damaged chunk was refused",
        );
      } finally {
        await cleanUp(t, [], imports);
      }
    },
  },
  {
    id: "disk/resume",
    profile: "disk",
    title:
      "DiskImportBegin again reports the received_bytes the writes reported, and a copy resumes from there to a commit",
    declared: (c) => exportsDisks(c) && importsDisks(c),
    async run(t) {
      const exports: string[] = [];
      const imports: string[] = [];
      try {
        const made = await exportedDataDisk(t, "disk-resume", exports);
        check(made.sizeBytes > 1n, `the export of ${made.id} is empty`);
        const importId = t.name("imp");
        imports.push(importId);
        const request = {
          importId,
          format: made.format,
          sizeBytes: made.sizeBytes,
          sha256: made.sha256,
        };
        const begun = await expectSuccess(
          t.client.diskImportBegin(request, { signal: t.signal }),
          "DiskImportBegin",
        );
        checkEqual(begun.import?.receivedBytes, 0n, "received_bytes of a new import");
        // The first chunk by hand, as a copy that stops after it.
        const length = Number(made.sizeBytes < 262144n ? made.sizeBytes / 2n : 262144n);
        const { chunk } = await expectSuccess(
          t.client.diskExportRead({ exportId: made.id, offset: 0n, length }, { signal: t.signal }),
          "DiskExportRead of the first chunk",
        );
        check(chunk, "DiskExportRead returned no chunk");
        const written = await expectSuccess(
          t.client.diskImportWrite({ importId, chunk }, { signal: t.signal }),
          "DiskImportWrite of the first chunk",
        );
        check(
          written.receivedBytes <= BigInt(length),
          `DiskImportWrite reported ${written.receivedBytes} bytes received after writing ${length}`,
        );
        const again = await expectSuccess(
          t.client.diskImportBegin(request, { signal: t.signal }),
          "DiskImportBegin again",
        );
        checkEqual(
          again.import?.receivedBytes,
          written.receivedBytes,
          "received_bytes of DiskImportBegin again, against that of the last write",
        );
        const copied = await expectSuccess(
          copyDisk({
            source: t.client,
            target: t.client,
            export: made,
            importId,
            signal: t.signal,
          }),
          "the copy resumed",
        );
        checkEqual(
          BigInt(copied.resumedFromBytes),
          written.receivedBytes,
          "where the copy resumed",
        );
        check(copied.import.committed, "the resumed import is not committed");
        t.log(`resumed from ${copied.resumedFromBytes} of ${made.sizeBytes} bytes`);
      } finally {
        await cleanUp(t, exports, imports);
      }
    },
  },
  {
    id: "disk/idempotent",
    profile: "disk",
    title:
      "DiskExportBegin and DiskImportBegin again answer the same; DiskExportEnd and DiskImportAbort twice, or of unknown ids, succeed",
    declared: (c) => exportsDisks(c) && importsDisks(c),
    async run(t) {
      const exports: string[] = [];
      const imports: string[] = [];
      try {
        // beginExport itself checks that a second Begin answers the export the first made.
        const made = await exportedDataDisk(t, "disk-idem", exports);
        const bytes = new Uint8Array(1024).fill(7);
        const { request, begun } = await beginSmallImport(t, bytes, imports);
        const again = await expectSuccess(
          t.client.diskImportBegin(request, { signal: t.signal }),
          "DiskImportBegin again",
        );
        checkEqual(again.import, begun, "DiskImportBegin again");
        for (const exportId of [made.id, made.id, t.name("none")]) {
          await expectSuccess(
            t.client.diskExportEnd({ exportId }, { signal: t.signal }),
            `DiskExportEnd of ${exportId}`,
          );
        }
        await expectReason(
          t.client.diskExportRead(
            { exportId: made.id, offset: 0n, length: 1 },
            { signal: t.signal },
          ),
          [ErrorReason.NOT_FOUND],
          "DiskExportRead of an ended export",
        );
        for (const importId of [request.importId, request.importId, t.name("none")]) {
          await expectSuccess(
            t.client.diskImportAbort({ importId }, { signal: t.signal }),
            `DiskImportAbort of ${importId}`,
          );
        }
        const fresh = await expectSuccess(
          t.client.diskImportBegin(request, { signal: t.signal }),
          "DiskImportBegin after DiskImportAbort",
        );
        checkEqual(
          fresh.import?.receivedBytes,
          0n,
          "received_bytes of an import begun again after its abort",
        );
      } finally {
        await cleanUp(t, exports, imports);
      }
    },
  },
  {
    id: "disk/pull",
    profile: "disk",
    title:
      "DiskExportShare and DiskImportPull: the provider pulls its own shared export into an import, the same bytes; a wrong ticket is refused",
    declared: (c) => exportsDisks(c) && importsDisks(c) && c.diskExportShare && c.diskImportPull,
    async run(t) {
      const exports: string[] = [];
      const imports: string[] = [];
      try {
        const made = await exportedDataDisk(t, "pull-src", exports);
        // A ticket that is not the one answered reads nothing.
        const { share } = await expectSuccess(
          t.client.diskExportShare({ exportId: made.id }, { signal: t.signal }),
          `DiskExportShare of export ${made.id}`,
        );
        check(share?.url && share.ticket, "DiskExportShare answered no URL or ticket");
        const refused = await fetch(`${share.url}?offset=0&length=1`, {
          headers: { authorization: `Bearer ${"x".repeat(share.ticket.length)}` },
          signal: t.signal,
        });
        checkEqual(refused.status, 401, "the transfer listener's answer to a wrong ticket");
        const importId = t.name("imp");
        imports.push(importId);
        const pulled = await expectSuccess(
          pullDisk({
            source: t.client,
            target: t.client,
            export: made,
            importId,
            signal: t.signal,
          }),
          `pulling export ${made.id} into import ${importId}`,
        );
        const again = await exportOfVmFrom(t, "pull-dst", pulled.disk, made.format, exports);
        checkEqual(
          { sha256: again.sha256.toLowerCase(), sizeBytes: again.sizeBytes },
          { sha256: made.sha256.toLowerCase(), sizeBytes: made.sizeBytes },
          "the export of the VM made from the pulled import",
        );
        t.log(`${made.sizeBytes} bytes pulled over ${new URL(share.url).origin}`);
      } finally {
        await cleanUp(t, exports, imports);
      }
    },
    async unsupported(t) {
      if (!t.capabilities.diskExportShare)
        await expectReason(
          t.client.diskExportShare({ exportId: t.name("exp") }, { signal: t.signal }),
          UNSUPPORTED,
          "DiskExportShare when disk_export_share is not declared",
        );
    },
  },
];
