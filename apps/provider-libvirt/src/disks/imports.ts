import { create } from "@bufbuild/protobuf";
import { type DiskImport, DiskImportSchema } from "@virtrigaud/contracts";
import type { LibvirtContext } from "../libvirt-context.js";
import { type StoragePool, createStoragePool } from "../storage.js";
import { imageFormatOf } from "./disk-format.js";
import { createInOrderDigest } from "./in-order-digest.js";
import type { ImportRecord, ImportState } from "./transfer-area.js";

/** The contract's view of an import. */
export function importOf(record: ImportRecord): DiskImport {
  return create(DiskImportSchema, {
    id: record.id,
    format: imageFormatOf(record.format),
    sizeBytes: BigInt(record.sizeBytes),
    receivedBytes: BigInt(record.receivedBytes),
    committed: record.committed,
  });
}

/**
 * The import as this process knows it, or as its record on the host says
 * (after a restart: written up to the recorded prefix); undefined when there
 * is none.
 */
export async function loadImport(
  ctx: LibvirtContext,
  id: string,
  signal?: AbortSignal,
): Promise<ImportState | undefined> {
  const known = ctx.transfers.imports.get(id);
  if (known) return known;
  const record = await ctx.transfers.read<ImportRecord>("import", id, signal);
  if (!record) return undefined;
  // Its digest is lost with the process that began it: the commit hashes the file.
  const state = importState(
    record,
    await ctx.transfers.files("import", id, signal),
    record.receivedBytes,
    undefined,
  );
  // Two loads at once keep the first.
  const raced = ctx.transfers.imports.get(id);
  if (raced) return raced;
  ctx.transfers.imports.set(id, state);
  return state;
}

/**
 * How far ahead of the hashed prefix an import's digest holds ranges: the
 * chunks in flight (4 of 2 MiB from copyDisk and a pull) finish in any order.
 */
const digestAheadBytes = 32 * 1024 * 1024;

/**
 * Starts the state of an import this process just made: its file is all
 * holes, so its digest can be taken from the writes from the first byte.
 */
export function startImport(
  ctx: LibvirtContext,
  record: ImportRecord,
  files: ImportState["files"],
): ImportState {
  const state = importState(
    record,
    files,
    0,
    createInOrderDigest(record.sizeBytes, digestAheadBytes),
  );
  ctx.transfers.imports.set(record.id, state);
  return state;
}

/** An import's state in memory, its first `receivedBytes` written (the recorded prefix). */
function importState(
  record: ImportRecord,
  files: ImportState["files"],
  receivedBytes: number,
  digest: ImportState["digest"],
): ImportState {
  return {
    record,
    files,
    ranges: receivedBytes > 0 ? [[0, receivedBytes]] : [],
    scheduled: receivedBytes,
    chain: Promise.resolve(),
    mismatch: undefined,
    digest,
  };
}

/** The storage pool of that name: the provider's own, or another of the host's. */
export function poolNamed(ctx: LibvirtContext, name: string): StoragePool {
  return name === ctx.pool.name ? ctx.pool : createStoragePool(ctx.host, name, undefined);
}

/**
 * Makes the recorded prefix `prefix`: syncs the staging file to the host's
 * disk, then replaces the record. Checkpoints run one after another.
 */
export async function checkpoint(
  ctx: LibvirtContext,
  state: ImportState,
  prefix: number,
  signal?: AbortSignal,
): Promise<void> {
  state.scheduled = Math.max(state.scheduled, prefix);
  const step = state.chain.then(async () => {
    if (prefix <= state.record.receivedBytes) return;
    const record = { ...state.record, receivedBytes: prefix };
    await ctx.transfers.write(record, state.files.data, signal);
    state.record = record;
  });
  state.chain = step.catch(() => {
    // A later write tries again.
    state.scheduled = state.record.receivedBytes;
  });
  await step;
}
