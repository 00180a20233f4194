import { ImageFormat } from "@virtrigaud/proto";
import { ProviderError, type Provider } from "../src/index.js";
import { checkChunk, chunkOf, sha256Hex } from "../src/disks/chunks.js";
import { type Ranges, addRange, contiguousPrefix } from "../src/disks/received-ranges.js";
import { stubProvider } from "./stub-provider.js";

/** An import as the in-memory provider holds it. */
interface HeldImport {
  bytes: Uint8Array;
  sha256: string;
  /** The ranges written so far. */
  written: Ranges;
  committed: boolean;
}

/**
 * A provider that exports files the test puts in `exports` and keeps
 * imports in memory, counting what it receives; DiskExportBegin answers a
 * task first, then the export. Faults: `corruptReads`
 * damages the bytes of reads at an offset (not their sha256), as many times
 * as its count; `refuseWrites` answers DATA_LOSS to writes at an offset.
 */
export interface InMemoryDiskProvider {
  provider: Provider;
  exports: Map<string, Uint8Array>;
  imports: Map<string, HeldImport>;
  corruptReads: Map<number, number>;
  refuseWrites: Map<number, number>;
  /** DiskImportCommit first answers with a task (its check "runs"), then with the import. */
  commitRunsAsTask: { value: boolean };
  /** DiskImportCommit calls served. */
  commits(): number;
  /** Bytes received by DiskImportWrite, every write counted. */
  receivedBytes(): number;
  /** Reads served by DiskExportRead. */
  reads(): number;
}

export function createInMemoryDiskProvider(): InMemoryDiskProvider {
  const exports = new Map<string, Uint8Array>();
  const imports = new Map<string, HeldImport>();
  const corruptReads = new Map<number, number>();
  const refuseWrites = new Map<number, number>();
  let received = 0;
  let reads = 0;
  let commits = 0;
  const commitRunsAsTask = { value: false };
  const checking = new Set<string>();
  const making = new Set<string>();

  const heldImport = (id: string): HeldImport => {
    const held = imports.get(id);
    if (!held) throw ProviderError.notFound(`no import ${id}`);
    return held;
  };
  const description = (id: string, held: HeldImport) => ({
    id,
    format: ImageFormat.RAW,
    sizeBytes: BigInt(held.bytes.length),
    receivedBytes: BigInt(contiguousPrefix(held.written)),
    committed: held.committed,
  });
  const takeFault = (faults: Map<number, number>, offset: number): boolean => {
    const left = faults.get(offset) ?? 0;
    if (left > 0) faults.set(offset, left - 1);
    return left > 0;
  };

  const provider = stubProvider({
    getCapabilities: () =>
      Promise.resolve({
        capabilities: {
          providerType: "in-memory-disks",
          diskExportFormats: [ImageFormat.RAW],
          diskImportFormats: [ImageFormat.RAW],
          // A final sync writes changed ranges into a received file and commits it anew.
          diskImportRewrites: true,
        },
      }),
    describeDisks: () => Promise.resolve({ disks: [] }),
    // An export of a file the test put in place: made in the background on the first call.
    diskExportBegin: (request) => {
      const file = exports.get(request.exportId);
      if (!file) return Promise.reject(ProviderError.notFound(`no file for ${request.exportId}`));
      if (!making.has(request.exportId)) {
        making.add(request.exportId);
        return Promise.resolve({ task: { id: `make-${request.exportId}` } });
      }
      return Promise.resolve({
        export: {
          id: request.exportId,
          format: ImageFormat.RAW,
          sizeBytes: BigInt(file.length),
          sha256: sha256Hex(file),
        },
      });
    },
    diskExportEnd: () => Promise.resolve({}),
    diskExportRead: (request) => {
      const file = exports.get(request.exportId);
      if (!file) return Promise.reject(ProviderError.notFound(`no export ${request.exportId}`));
      reads++;
      const offset = Number(request.offset);
      const bytes = file.slice(offset, offset + request.length);
      const chunk = chunkOf(offset, bytes);
      if (takeFault(corruptReads, offset) && chunk.content.case === "data") {
        chunk.content.value[0] = (chunk.content.value[0] ?? 0) ^ 0xff;
      }
      return Promise.resolve({ chunk });
    },
    diskImportBegin: (request) => {
      const existing = imports.get(request.importId);
      if (existing && BigInt(existing.bytes.length) !== request.sizeBytes) {
        return Promise.reject(ProviderError.conflict("another file under this id"));
      }
      const held = existing ?? {
        bytes: new Uint8Array(Number(request.sizeBytes)),
        sha256: request.sha256,
        written: [],
        committed: false,
      };
      imports.set(request.importId, held);
      return Promise.resolve({ import: description(request.importId, held) });
    },
    diskImportWrite: (request) => {
      try {
        const held = heldImport(request.importId);
        const chunk = request.chunk;
        const content = chunk?.content;
        received += content?.case === "data" ? content.value.length : Number(content?.value ?? 0n);
        const { offset, length, data } = checkChunk(chunk, held.bytes.length);
        if (takeFault(refuseWrites, offset)) {
          throw ProviderError.dataLoss(`chunk at ${offset} does not match its sha256`);
        }
        held.bytes.set(data ?? new Uint8Array(length), offset);
        held.written = addRange(held.written, offset, offset + length);
        return Promise.resolve({ receivedBytes: BigInt(contiguousPrefix(held.written)) });
      } catch (error) {
        return Promise.reject(ProviderError.from(error));
      }
    },
    diskImportCommit: (request) => {
      commits++;
      const held = imports.get(request.importId);
      if (!held) return Promise.reject(ProviderError.notFound(`no import ${request.importId}`));
      if (commitRunsAsTask.value && !checking.has(request.importId)) {
        checking.add(request.importId);
        return Promise.resolve({ task: { id: `check-${request.importId}` } });
      }
      // After a final sync the commit names the file's new SHA-256.
      const expected = request.sha256 || held.sha256;
      if (sha256Hex(held.bytes) !== expected) {
        return Promise.reject(ProviderError.dataLoss("the file does not match its sha256"));
      }
      held.sha256 = expected;
      held.committed = true;
      return Promise.resolve({
        import: description(request.importId, held),
        disk: { source: { case: "importedDisk", value: request.importId } },
      });
    },
    diskImportAbort: (request) => {
      imports.delete(request.importId);
      return Promise.resolve({});
    },
  });
  return {
    provider,
    exports,
    imports,
    corruptReads,
    refuseWrites,
    commitRunsAsTask,
    commits: () => commits,
    receivedBytes: () => received,
    reads: () => reads,
  };
}
