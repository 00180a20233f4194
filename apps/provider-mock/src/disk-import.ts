import {
  ProviderError,
  addRange,
  checkChunk,
  contiguousPrefix,
  sha256Hex,
} from "@virtrigaud/contracts";
import type { ImportRecord } from "./disk-store.js";
import type { MockContext, MockOperation } from "./mock-context.js";

/** The wire form of an import. */
function describeImport(record: ImportRecord) {
  return {
    id: record.id,
    format: record.format,
    sizeBytes: BigInt(record.bytes.length),
    receivedBytes: BigInt(contiguousPrefix(record.written)),
    committed: record.committed,
  };
}

function findImport(ctx: MockContext, importId: string): ImportRecord {
  const record = ctx.disks.imports.get(importId);
  if (!record) throw ProviderError.notFound(`import ${importId} does not exist`);
  return record;
}

/**
 * DiskImportBegin: once per import id. A new import reserves its whole
 * length in memory at once; a repeated call answers how much is held.
 *
 * @throws ProviderError CONFLICT when the id names an import of another
 * file; RESOURCE_EXHAUSTED past --disk-memory.
 */
export const diskImportBegin: MockOperation<"diskImportBegin"> = (ctx, request) => {
  const sha256 = request.sha256.toLowerCase();
  const existing = ctx.disks.imports.get(request.importId);
  if (existing) {
    const same =
      existing.format === request.format &&
      BigInt(existing.bytes.length) === request.sizeBytes &&
      existing.sha256 === sha256;
    if (!same) {
      throw ProviderError.conflict(`import ${request.importId} is of another file`);
    }
    return Promise.resolve({ import: describeImport(existing) });
  }
  const size = Number(request.sizeBytes);
  ctx.disks.reserve(size, `import ${request.importId}`);
  const record: ImportRecord = {
    id: request.importId,
    format: request.format,
    sha256,
    bytes: new Uint8Array(size),
    written: [],
    committed: false,
    adoptedBy: "",
  };
  ctx.disks.imports.set(record.id, record);
  return Promise.resolve({ import: describeImport(record) });
};

/**
 * DiskImportWrite: checks the chunk's SHA-256, then writes it at its
 * offset. Writing the same chunk again changes nothing.
 *
 * @throws ProviderError DATA_LOSS when the bytes do not match the chunk's
 * sha256 (nothing is written); INVALID_SPEC for a chunk past the end;
 * CONFLICT once the import is committed.
 */
export const diskImportWrite: MockOperation<"diskImportWrite"> = (ctx, request) => {
  const record = findImport(ctx, request.importId);
  if (record.committed) throw ProviderError.conflict(`import ${record.id} is committed`);
  const chunk = checkChunk(request.chunk, record.bytes.length);
  const end = chunk.offset + chunk.length;
  if (chunk.data) record.bytes.set(chunk.data, chunk.offset);
  else record.bytes.fill(0, chunk.offset, end);
  record.written = addRange(record.written, chunk.offset, end);
  return Promise.resolve({ receivedBytes: BigInt(contiguousPrefix(record.written)) });
};

/**
 * DiskImportCommit: checks the whole file against the SHA-256 given at
 * DiskImportBegin (or the one the commit names, after a final sync wrote
 * ranges again) and makes it a disk Create can adopt. Committing again
 * answers the same.
 *
 * @throws ProviderError CONFLICT while bytes are
 * missing; DATA_LOSS when the file does not match (its writes are forgotten,
 * so it can be written again).
 */
export const diskImportCommit: MockOperation<"diskImportCommit"> = (ctx, request) => {
  const record = findImport(ctx, request.importId);
  if (!record.committed) {
    const held = contiguousPrefix(record.written);
    if (held < record.bytes.length) {
      throw ProviderError.conflict(
        `import ${record.id} holds ${held} of ${record.bytes.length} bytes; write the rest first`,
      );
    }
    const expected = request.sha256.toLowerCase() || record.sha256;
    if (sha256Hex(record.bytes) !== expected) {
      record.written = [];
      throw ProviderError.dataLoss(`import ${record.id} does not match its sha256; write it again`);
    }
    record.sha256 = expected;
    record.committed = true;
  }
  return Promise.resolve({
    import: describeImport(record),
    disk: { source: { case: "importedDisk", value: record.id } },
  });
};

/** DiskImportAbort: drops the import; one a VM adopted stays with the VM, one that does not exist is aborted already. */
export const diskImportAbort: MockOperation<"diskImportAbort"> = (ctx, request) => {
  if (!ctx.disks.imports.get(request.importId)?.adoptedBy) {
    ctx.disks.dropImport(request.importId);
  }
  return Promise.resolve({});
};
