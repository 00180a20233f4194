import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type Capabilities,
  DiskChunkSchema,
  DiskExportReadRequestSchema,
  DiskImportWriteRequestSchema,
  ProviderService,
} from "@virtrigaud/proto";
import { type Clock, systemClock } from "../clock.js";
import { ProviderError } from "../errors/provider-error.js";
import type { Logger } from "../logging/create-logger.js";
import type {
  Provider,
  ProviderContext,
  ProviderMethod,
  ProviderMethodName,
  ProviderRequest,
} from "../provider.js";
import { createTaskTracker } from "../tasks/task-tracker.js";
import { exportPathPrefix } from "./range-protocol.js";
import { pullImport } from "./pull-import.js";
import { type ShareTickets, createShareTickets } from "./share-tickets.js";
import type { ReadRange } from "./transfer-listener.js";

/** Options of `createDiskTransfers`. */
export interface DiskTransfersOptions {
  /** Whether a transfer listener serves shared exports. */
  listens: boolean;
  /** The transfer listener's base URL ("https://host:port"), once it listens. */
  baseUrl: () => string | undefined;
  /** Pulls may read plaintext http URLs: the server itself serves plaintext, on loopback. */
  allowPlaintextPulls: boolean;
  logger: Logger;
  clock?: Clock;
}

/** The RPCs the SDK serves for every provider that moves disks, on top of its own methods. */
export type TransferMethodName = "diskExportShare" | "diskImportPull";

/** What the SDK adds to a provider that exports or imports disks. */
export interface DiskTransfers {
  /** The provider's capabilities with disk_export_share and disk_import_pull as served. */
  readonly capabilities: Capabilities;
  /**
   * The provider with DiskExportShare and DiskImportPull, and the methods
   * they touch wrapped: GetTask answers the pulls' tasks, DiskExportEnd
   * ends the export's tickets, DiskImportAbort stops the import's pull.
   */
  readonly provider: Provider & { [M in TransferMethodName]: ProviderMethod<M> };
  /** Reads a range of an export for the transfer listener. */
  readonly read: ReadRange;
  readonly tickets: ShareTickets;
  /** Stops every pull and waits for them. */
  close(): Promise<void>;
}

/** Tickets last an hour unless the caller asks otherwise. */
const defaultTicketSeconds = 3600;

/** The prefix of the pulls' task ids, apart from any provider's own. */
const pullTaskPrefix = "virtrigaud-pull";

/**
 * DiskExportShare and DiskImportPull for any provider, built on its own
 * DiskExportRead and DiskImportWrite called in process: the bulk bytes of
 * a migration go from one provider to the other over HTTP/1.1 instead of
 * through the caller as RPCs (see `listenTransfers`, `pullImport`).
 */
export function createDiskTransfers(
  provider: Provider,
  declared: Capabilities,
  options: DiskTransfersOptions,
): DiskTransfers {
  const clock = options.clock ?? systemClock;
  const tickets = createShareTickets(clock);
  const tasks = createTaskTracker({
    idPrefix: pullTaskPrefix,
    clock,
    onInternalError: (taskId, error) =>
      options.logger.error({ taskId, err: error }, "a disk pull failed"),
  });
  /** The running pull of each import: its task, and how to stop it. */
  const pulls = new Map<string, { taskId: string; stop: AbortController }>();
  const exportRead = provider.diskExportRead?.bind(provider);
  const importWrite = provider.diskImportWrite?.bind(provider);
  const shares = Boolean(options.listens && exportRead && declared.diskExportFormats.length);
  const pullsIn = Boolean(importWrite && declared.diskImportFormats.length);

  const context = (method: ProviderMethodName, signal: AbortSignal, logger: Logger) =>
    ({
      signal,
      deadline: undefined,
      requestId: `transfer-${method}`,
      method,
      logger,
    }) satisfies ProviderContext;

  const read: ReadRange = async (range, signal) => {
    if (!exportRead) throw ProviderError.unsupported("this provider exports no disks");
    const answer = await exportRead(
      create(DiskExportReadRequestSchema, {
        exportId: range.exportId,
        offset: BigInt(range.offset),
        length: range.length,
      }),
      context("diskExportRead", signal, options.logger),
    );
    if (!answer.chunk) throw ProviderError.internal("DiskExportRead returned no chunk");
    // A provider may answer a plain object of the message's shape: made whole here.
    return create(DiskChunkSchema, answer.chunk);
  };

  const diskExportShare: ProviderMethod<"diskExportShare"> = async (request, ctx) => {
    const baseUrl = options.baseUrl();
    if (!shares || !baseUrl)
      throw ProviderError.unsupported("this provider does not share exports");
    // The export must be there and ready: a read of its first byte says so (NOT_FOUND, RETRYABLE).
    await read({ exportId: request.exportId, offset: 0, length: 1 }, ctx.signal);
    const ttlMs = (request.ttlSeconds || defaultTicketSeconds) * 1000;
    const { ticket, expiresAt } = tickets.issue(request.exportId, ttlMs);
    const url = new URL(exportPathPrefix + encodeURIComponent(request.exportId), baseUrl);
    return { share: { url: url.toString(), ticket, expireTime: timestampFromMs(expiresAt) } };
  };

  const diskImportPull: ProviderMethod<"diskImportPull"> = (request, ctx) => {
    if (!pullsIn || !importWrite)
      throw ProviderError.unsupported("this provider does not pull imports");
    const source = request.source;
    if (!source) throw ProviderError.invalidSpec("source", "is required");
    const running = pulls.get(request.importId);
    if (running) return Promise.resolve({ task: { id: running.taskId } });
    const stop = new AbortController();
    const logger = ctx.logger;
    const { importId } = request;
    const ref = tasks.start(`pull import ${importId}`, async (task) => {
      const onClose = () => stop.abort(task.signal.reason);
      task.signal.addEventListener("abort", onClose, { once: true });
      try {
        const result = await pullImport({
          share: source,
          caPem: request.sourceCaPem || undefined,
          allowPlaintext: options.allowPlaintextPulls,
          offset: Number(request.offset),
          sizeBytes: Number(request.sizeBytes),
          signal: stop.signal,
          write: async (chunk, signal) => {
            const answer = await importWrite(
              create(DiskImportWriteRequestSchema, { importId, chunk }),
              context("diskImportWrite", signal, logger),
            );
            return Number(answer.receivedBytes ?? 0);
          },
          onProgress: (p) => task.progress((100 * p.verifiedBytes) / Math.max(p.totalBytes, 1)),
        });
        logger.info(
          { importId, bytes: result.writtenBytes, reread: result.rereadRanges },
          "disk pull done",
        );
      } finally {
        task.signal.removeEventListener("abort", onClose);
        pulls.delete(importId);
      }
    });
    pulls.set(importId, { taskId: ref.id, stop });
    return Promise.resolve({ task: ref });
  };

  const getTask: ProviderMethod<"getTask"> = (request, ctx) => {
    const id = request.task?.id ?? "";
    if (id.startsWith(`${pullTaskPrefix}-`)) return Promise.resolve({ task: tasks.get(id) });
    return provider.getTask(request, ctx);
  };

  const wrapped: Partial<Provider> = { getTask };
  const exportEnd = provider.diskExportEnd?.bind(provider);
  if (exportEnd)
    wrapped.diskExportEnd = (request: ProviderRequest<"diskExportEnd">, ctx) => {
      tickets.revoke(request.exportId);
      return exportEnd(request, ctx);
    };
  const importAbort = provider.diskImportAbort?.bind(provider);
  if (importAbort)
    wrapped.diskImportAbort = async (request: ProviderRequest<"diskImportAbort">, ctx) => {
      const running = pulls.get(request.importId);
      if (running) {
        running.stop.abort(ProviderError.canceled("the import was aborted"));
        await tasks.settled(running.taskId).catch(() => undefined);
      }
      return importAbort(request, ctx);
    };

  // The provider's own methods bound to it (a class's private fields need
  // their own `this`), then the ones served here.
  const served: Record<string, unknown> = {};
  for (const { localName } of ProviderService.methods) {
    const method = (provider as unknown as Record<string, unknown>)[localName];
    if (typeof method === "function") served[localName] = method.bind(provider);
  }
  Object.assign(served, wrapped, { diskExportShare, diskImportPull });
  return {
    capabilities: { ...declared, diskExportShare: shares, diskImportPull: pullsIn },
    provider: served as unknown as DiskTransfers["provider"],
    read,
    tickets,
    close: () => tasks.close(),
  };
}
