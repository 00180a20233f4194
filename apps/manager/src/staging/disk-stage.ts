import { type FileHandle, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  type ImageFormat,
  ProviderError,
  type Ranges,
  addRange,
  checkChunk,
  chunkOf,
  contiguousPrefix,
  fileSha256,
  shouldCheckpoint,
} from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";
import {
  DiskChunkSchema,
  DiskExportReadResponseSchema,
  DiskImportBeginResponseSchema,
  DiskImportCommitResponseSchema,
  DiskImportSchema,
  DiskImportWriteResponseSchema,
} from "@virtrigaud/proto";

/** How far the written prefix runs ahead of the recorded one before it is synced and recorded. */
const checkpointBytes = 64 * 1024 * 1024;

/** Ids a stage names files after: the manager's own transfer ids. */
const stageId = /^[A-Za-z0-9_-]{1,128}$/;

/** What the stage records of a staged file, beside it. */
interface StagedRecord {
  format: ImageFormat;
  sizeBytes: number;
  sha256: string;
  /** The durable prefix: every byte before it is written and synced. */
  received: number;
  /** The whole file was checked against `sha256`. */
  committed: boolean;
}

/** A staged file as this process knows it between calls. */
interface Staged {
  id: string;
  record: StagedRecord;
  /** Ranges written in this process (the recorded prefix included). */
  ranges: Ranges;
  /** The prefix a checkpoint was started for. */
  scheduled: number;
  /** Bytes other than zeros may lie at or after this offset only below it. */
  dirtyEnd: number;
  handle: Promise<FileHandle> | undefined;
  /** Checkpoints in order. */
  chain: Promise<void>;
}

/**
 * A directory of the manager where a migration's disks wait between their
 * source and their target: a copy into it and a copy out of it are the same
 * chunk-by-chunk, checked, resumable copy (`copyDisk`) as a copy between two
 * providers, because the stage answers the calls a copy makes of a provider
 * (DiskImportBegin/Write/Commit into it, DiskExportRead out of it). Each
 * file is sparse (zero chunks stay holes), its durable prefix recorded
 * beside it every 64 MiB and at the end, and its SHA-256 checked whole at
 * commit.
 */
export type DiskStage = Pick<
  ProviderClient,
  "diskImportBegin" | "diskImportWrite" | "diskImportCommit" | "waitForTask" | "diskExportRead"
> & {
  readonly dir: string;
  /** Closes the stage's files. */
  close(): Promise<void>;
  /** Closes the stage's files and removes its directory. */
  remove(): Promise<void>;
};

/** The stage in directory `dir` (made at the first import), of files named after their ids. */
export function createDiskStage(dir: string): DiskStage {
  const known = new Map<string, Staged>();
  const dataPath = (id: string) => join(dir, `${id}.raw`);
  const recordPath = (id: string) => join(dir, `${id}.json`);

  const idOf = (id: string | undefined, field: string): string => {
    if (!id || !stageId.test(id))
      throw ProviderError.invalidSpec(field, "must be 1 to 128 letters, digits, '_' or '-'");
    return id;
  };

  async function writeRecord(s: Staged): Promise<void> {
    const temporary = `${recordPath(s.id)}.tmp`;
    const file = await open(temporary, "w", 0o600);
    try {
      await file.writeFile(JSON.stringify(s.record));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, recordPath(s.id));
  }

  async function load(id: string): Promise<Staged | undefined> {
    const held = known.get(id);
    if (held) return held;
    let record: StagedRecord;
    try {
      record = JSON.parse(await readFile(recordPath(id), "utf8")) as StagedRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    // Written by an earlier process: past the prefix, anything may lie there.
    const staged: Staged = {
      id,
      record,
      ranges: record.received ? [[0, record.received]] : [],
      scheduled: record.received,
      dirtyEnd: record.sizeBytes,
      handle: undefined,
      chain: Promise.resolve(),
    };
    return known.get(id) ?? (known.set(id, staged), staged);
  }

  const handleOf = (s: Staged) => (s.handle ??= open(dataPath(s.id), "r+"));

  const describe = (s: Staged) =>
    create(DiskImportSchema, {
      id: s.id,
      format: s.record.format,
      sizeBytes: BigInt(s.record.sizeBytes),
      receivedBytes: BigInt(s.record.received),
      committed: s.record.committed,
    });

  async function closeFile(s: Staged): Promise<void> {
    const handle = s.handle;
    s.handle = undefined;
    if (handle) await (await handle).close();
  }

  /** Syncs the file and records `prefix` as durable, after the checkpoints before it. */
  function checkpoint(s: Staged, prefix: number): Promise<void> {
    s.scheduled = prefix;
    s.chain = s.chain.then(async () => {
      await (await handleOf(s)).datasync();
      if (prefix <= s.record.received) return;
      s.record.received = prefix;
      await writeRecord(s);
    });
    return s.chain;
  }

  return {
    dir,

    async diskImportBegin(request) {
      const id = idOf(request.importId, "import_id");
      const sizeBytes = Number(request.sizeBytes ?? 0n);
      const sha256 = (request.sha256 ?? "").toLowerCase();
      const format = request.format ?? 0;
      const held = await load(id);
      if (held) {
        const { record } = held;
        if (record.sizeBytes !== sizeBytes || record.sha256 !== sha256 || record.format !== format)
          throw ProviderError.conflict(`${id} is staged for another file`);
        return create(DiskImportBeginResponseSchema, { import: describe(held) });
      }
      if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0)
        throw ProviderError.invalidSpec("size_bytes", "must be a positive number of bytes");
      if (!/^[0-9a-f]{64}$/.test(sha256))
        throw ProviderError.invalidSpec("sha256", "must be 64 hexadecimal digits");
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = await open(dataPath(id), "w", 0o600);
      try {
        await file.truncate(sizeBytes);
        await file.sync();
      } finally {
        await file.close();
      }
      const staged: Staged = {
        id,
        record: { format, sizeBytes, sha256, received: 0, committed: false },
        ranges: [],
        scheduled: 0,
        dirtyEnd: 0,
        handle: undefined,
        chain: Promise.resolve(),
      };
      await writeRecord(staged);
      known.set(id, staged);
      return create(DiskImportBeginResponseSchema, { import: describe(staged) });
    },

    async diskImportWrite(request) {
      const id = idOf(request.importId, "import_id");
      const s = await load(id);
      if (!s) throw ProviderError.notFound(`nothing is staged as ${id}`);
      if (s.record.committed) throw ProviderError.conflict(`${id} is staged and checked already`);
      const chunk = checkChunk(
        request.chunk && create(DiskChunkSchema, request.chunk),
        s.record.sizeBytes,
      );
      const end = chunk.offset + chunk.length;
      const handle = await handleOf(s);
      if (chunk.data) {
        await handle.write(chunk.data, 0, chunk.length, chunk.offset);
        s.dirtyEnd = Math.max(s.dirtyEnd, end);
      } else if (chunk.offset < s.dirtyEnd) {
        // Zeros over what an earlier write may have left; past dirtyEnd the file is holes.
        const length = Math.min(end, s.dirtyEnd) - chunk.offset;
        await handle.write(Buffer.alloc(length), 0, length, chunk.offset);
      }
      s.ranges = addRange(s.ranges, chunk.offset, end);
      const prefix = contiguousPrefix(s.ranges);
      if (shouldCheckpoint(prefix, s.scheduled, s.record.sizeBytes, checkpointBytes))
        await checkpoint(s, prefix);
      return create(DiskImportWriteResponseSchema, { receivedBytes: BigInt(s.record.received) });
    },

    async diskImportCommit(request) {
      const id = idOf(request.importId, "import_id");
      const s = await load(id);
      if (!s) throw ProviderError.notFound(`nothing is staged as ${id}`);
      if (!s.record.committed) {
        await s.chain;
        if (s.record.received < s.record.sizeBytes)
          throw ProviderError.conflict(
            `${id} holds ${s.record.received} of ${s.record.sizeBytes} bytes; write the rest first`,
          );
        await closeFile(s);
        const actual = await fileSha256(dataPath(id));
        if (actual !== s.record.sha256) {
          // Written again from the start: the next Begin says nothing is held.
          s.record.received = 0;
          s.ranges = [];
          s.scheduled = 0;
          s.dirtyEnd = s.record.sizeBytes;
          await writeRecord(s);
          throw ProviderError.dataLoss(
            `${id} does not match its SHA-256 (${actual} staged, ${s.record.sha256} expected); write it again`,
          );
        }
        s.record.committed = true;
        await writeRecord(s);
      }
      return create(DiskImportCommitResponseSchema, {
        import: describe(s),
        disk: { source: { case: "importedDisk", value: id } },
      });
    },

    waitForTask: () => Promise.resolve(undefined),

    async diskExportRead(request) {
      const id = idOf(request.exportId, "export_id");
      const s = await load(id);
      if (!s?.record.committed) throw ProviderError.notFound(`${id} is not staged whole`);
      const offset = Number(request.offset ?? 0n);
      if (offset > s.record.sizeBytes)
        throw ProviderError.invalidSpec("offset", `is past the staged ${s.record.sizeBytes} bytes`);
      const length = Math.min(request.length ?? 0, s.record.sizeBytes - offset);
      const bytes = Buffer.alloc(length);
      const { bytesRead } = await (await handleOf(s)).read(bytes, 0, length, offset);
      if (bytesRead !== length)
        throw ProviderError.dataLoss(`${id} is shorter than recorded: ${offset + bytesRead} bytes`);
      return create(DiskExportReadResponseSchema, { chunk: chunkOf(offset, bytes) });
    },

    async close() {
      for (const s of known.values()) await closeFile(s);
      known.clear();
    },

    async remove() {
      await this.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
