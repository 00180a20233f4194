import type { Readable } from "node:stream";
import {
  type DatastoreFile,
  type VimClient,
  openDatastoreFile,
  readDatastoreFile,
} from "@virtrigaud/vsphere-sdk";

/**
 * Where an export's bytes come from, as its record keeps it. Today one kind:
 * the flat extent of a monolithicFlat or vmfs disk, read through the
 * datastore file service. An NFC lease (HttpNfcLease from ExportVm, which a
 * real vCenter gives for any disk, streamOptimized included) would be another
 * kind here, with its own `openExportSource` case.
 */
export type ExportSourceRecord = {
  kind: "datastore-flat";
  file: DatastoreFile;
  /** The flat file's Last-Modified when the export began: a change means the disk moved on. */
  lastModified: string | undefined;
};

/** Reads of an export's bytes. */
export interface ExportSource {
  /** `length` bytes from `offset` (fewer at the end), and the source's Last-Modified then. */
  read(
    offset: number,
    length: number,
    signal: AbortSignal,
  ): Promise<{ data: Buffer; lastModified: string | undefined }>;
  /** The whole file, once, to checksum it. */
  stream(signal: AbortSignal): Promise<Readable>;
}

/** The reads of an export source. */
export function openExportSource(client: VimClient, record: ExportSourceRecord): ExportSource {
  switch (record.kind) {
    case "datastore-flat":
      return {
        read: (offset, length, signal) =>
          readDatastoreFile(client, record.file, { offset, length }, { signal }),
        stream: async (signal) => (await openDatastoreFile(client, record.file, { signal })).stream,
      };
  }
}
