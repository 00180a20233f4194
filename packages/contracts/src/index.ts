/**
 * The VirtRigaud provider SDK: what a provider author needs.
 *
 * A provider implements `Provider` (one method per ProviderService RPC,
 * typed from the proto), throws `ProviderError` to fail a call with a
 * reason, runs long work with `createTaskTracker`, and hands the object to
 * `runProvider` in its binary's `main` (or `serveProvider` to embed it).
 * The contract's generated messages and enums are re-exported, so a provider
 * imports one package.
 *
 * `copyDisk` moves a disk between two providers for whoever holds clients
 * of both (the manager, a benchmark), chunk by chunk through the caller;
 * `pullDisk` has the target read it from the source itself, where both
 * declare it (the SDK serves DiskExportShare and DiskImportPull for every
 * provider that moves disks).
 *
 * Everything else sits behind subpath exports, one concept each:
 * `@virtrigaud/contracts/testing` (the testing kit), `/client` (calling a
 * provider or another VirtRigaud service), `/server` (serving any Connect
 * service the VirtRigaud way) and `/wire` (the contract's rules as they
 * travel: reason names, field rules, transport failures).
 *
 * @packageDocumentation
 */

// The interface a provider implements.
export type {
  ConsoleInput,
  Provider,
  ProviderConsole,
  ProviderContext,
  ProviderMethod,
  ProviderMethodName,
  ProviderRequest,
  ProviderResponse,
} from "./provider.js";

// The error model, and quoting what a caller sent into an error message.
export { ProviderError, type ProviderErrorOptions } from "./errors/provider-error.js";
export { clip, quote } from "./clip.js";

// Long work, the backend's limits, time and secrets.
export {
  createTaskTracker,
  type TaskTracker,
  type TaskTrackerOptions,
  type TaskControl,
} from "./tasks/task-tracker.js";
export { createOnceByName, type CreateOnce, type KeepAnswer } from "./operations/create-once.js";
export { createKeyedLock, type KeyedLock } from "./operations/keyed-lock.js";
export { operationBinder, type ProviderOperation } from "./operations/operation-table.js";
export {
  createBackendLimiter,
  type BackendLimiter,
  type BackendLimiterOptions,
} from "./limits/backend-limiter.js";
export {
  createRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
} from "./limits/rate-limiter.js";
export { type Clock, systemClock } from "./clock.js";
export {
  loadCredentials,
  type Credentials,
  type LoadCredentialsOptions,
} from "./credentials/load-credentials.js";
export { Secret } from "./credentials/secret.js";
export { pageTokenAfter, pageTokenOf } from "./paging.js";

// Moving a disk from one provider to another, chunk by checked chunk.
export {
  copyDisk,
  type CopyDiskOptions,
  type CopyDiskProgress,
  type CopyDiskResult,
  copyDiskForSync,
  type CopyDiskHeld,
} from "./disks/copy-disk.js";
export {
  syncDisk,
  type SyncDiskOptions,
  type SyncDiskProgress,
  type SyncDiskResult,
} from "./disks/sync-disk.js";
export { exportDisk, type ExportDiskOptions } from "./disks/export-disk.js";
export {
  pullDisk,
  pullDiskForSync,
  type PullDiskOptions,
  type PullDiskProgress,
} from "./disks/pull-disk.js";
// For a provider's disk export and import: chunks made and checked, whole-disk
// hashes, the received prefix.
export { type CheckedChunk, checkChunk, chunkOf, fileSha256, sha256Hex } from "./disks/chunks.js";
export {
  type Ranges,
  addRange,
  contiguousPrefix,
  shouldCheckpoint,
} from "./disks/received-ranges.js";

// Running a provider: its binary's main, its flags, its logger.
export { runProvider, type RunProviderOptions, type FlagValues } from "./server/run-provider.js";
export { serveProvider, type ProviderServer } from "./server/serve-provider.js";
export { type ServeOptions, ServeConfigError } from "./server/serve-options.js";
export type { TlsFiles } from "./server/tls.js";
export { parseDuration } from "./duration.js";
export { parseByteSize } from "./byte-size.js";
export {
  createLogger,
  type Logger,
  type LoggerOptions,
  type LogLevel,
} from "./logging/create-logger.js";

// The contract's generated types and schemas, so a provider imports one package.
export * from "@virtrigaud/proto";
