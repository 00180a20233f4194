import { ProviderError } from "@virtrigaud/contracts";
import {
  type DatastoreFile,
  parseDatastorePath,
  readDatastoreFile,
  statDatastoreFile,
} from "@virtrigaud/vsphere-sdk";
import type { ExportSourceRecord } from "./export-source.js";
import { flatExtentOf, parseVmdkDescriptor } from "./vmdk-descriptor.js";
import type { VsphereContext } from "./vsphere-context.js";

/** A descriptor is a few hundred bytes; a sparse VMDK's embedded one sits in its first 64 KiB. */
const descriptorReadBytes = 65536;

/** The file beside `path` (same directory) named `name`. */
function besideFile(path: string, name: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? name : `${path.slice(0, slash + 1)}${name}`;
}

/**
 * Where a disk's raw bytes are: its descriptor read and checked, its flat
 * extent found and its length and last change noted.
 *
 * @throws ProviderError UNSUPPORTED for a disk that is not one flat extent
 * (sparse, delta, streamOptimized, split), saying why.
 */
export async function flatSourceOf(
  ctx: VsphereContext,
  fileName: string,
  signal: AbortSignal,
): Promise<{ source: ExportSourceRecord; sizeBytes: number }> {
  const where = parseDatastorePath(fileName);
  if (!where)
    throw ProviderError.unsupported(
      `the disk's file ${JSON.stringify(fileName)} is not on a datastore`,
    );
  const dc = await ctx.call(signal, () => ctx.finder.datacenter({ signal }));
  const descriptorFile: DatastoreFile = { datacenterPath: dc.path, ...where };
  const head = await ctx.call(signal, () =>
    readDatastoreFile(
      ctx.client,
      descriptorFile,
      { offset: 0, length: descriptorReadBytes },
      { signal },
    ),
  );
  const descriptor = parseVmdkDescriptor(head.data.toString("latin1"));
  if (!descriptor) {
    throw ProviderError.unsupported(
      `the disk ${JSON.stringify(fileName)} has no VMDK descriptor the provider can read`,
    );
  }
  const verdict = flatExtentOf(descriptor);
  if (!verdict.ok) {
    throw ProviderError.unsupported(
      `the disk ${JSON.stringify(fileName)} cannot be exported as raw: ${verdict.why}`,
    );
  }
  const file: DatastoreFile = { ...descriptorFile, path: besideFile(where.path, verdict.file) };
  const stat = await ctx.call(signal, () => statDatastoreFile(ctx.client, file, { signal }));
  if (!stat)
    throw ProviderError.notFound(
      `the disk's flat extent ${JSON.stringify(verdict.file)} is missing`,
    );
  if (stat.size !== verdict.sizeBytes) {
    throw ProviderError.conflict(
      `the flat extent holds ${stat.size} bytes but the descriptor says ${verdict.sizeBytes}`,
    );
  }
  return {
    source: { kind: "datastore-flat", file, lastModified: stat.lastModified },
    sizeBytes: stat.size,
  };
}
