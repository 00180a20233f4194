import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { ConsoleOpen, ConsoleSize, ProviderService } from "@virtrigaud/proto";
import type { Logger } from "./logging/create-logger.js";

type Methods = (typeof ProviderService)["method"];

/** The name of a ProviderService RPC as a provider method: "create", "listVMs", ... */
export type ProviderMethodName = keyof Methods;

/** The request message of an RPC. */
export type ProviderRequest<M extends ProviderMethodName> = MessageShape<Methods[M]["input"]>;

/** What a provider returns for an RPC: the response message or a plain object of its shape. */
export type ProviderResponse<M extends ProviderMethodName> = MessageInitShape<Methods[M]["output"]>;

/**
 * What a provider method knows about the call it serves.
 */
export interface ProviderContext {
  /**
   * Aborted when the call's deadline passes, the client cancels, or the
   * server is shutting down past its drain timeout. Pass it on to every I/O.
   */
  readonly signal: AbortSignal;
  /** When the call's deadline passes, in milliseconds since the epoch; undefined without one. */
  readonly deadline: number | undefined;
  /** The request id: the caller's x-request-id, or one made up for this call. */
  readonly requestId: string;
  /** The RPC being served. */
  readonly method: ProviderMethodName;
  /** A logger carrying the request id and method. */
  readonly logger: Logger;
}

/** One provider method: the request in, the response (or a plain object of its shape) out. */
export type ProviderMethod<M extends ProviderMethodName> = (
  request: ProviderRequest<M>,
  context: ProviderContext,
) => Promise<ProviderResponse<M>>;

/**
 * The name of an RPC a provider implements only when it declares the
 * capability: snapshots (snapshotCreate, snapshotDelete, snapshotRevert,
 * snapshotList), full_clones or linked_clones (clone), image_prepare
 * (imagePrepare), disk_export_formats (describeDisks and the diskExport
 * methods) and disk_import_formats (the diskImport methods). `console`, behind
 * console_kinds, is a `ProviderConsole`.
 */
export type OptionalMethodName = Extract<
  ProviderMethodName,
  | "snapshotCreate"
  | "snapshotDelete"
  | "snapshotRevert"
  | "snapshotList"
  | "clone"
  | "imagePrepare"
  | DiskExportMethodName
  | DiskImportMethodName
>;

/** The RPCs behind disk_export_formats. */
type DiskExportMethodName = Extract<
  ProviderMethodName,
  "describeDisks" | "diskExportBegin" | "diskExportRead" | "diskExportEnd"
>;

/** The RPCs behind disk_import_formats. */
type DiskImportMethodName = Extract<
  ProviderMethodName,
  "diskImportBegin" | "diskImportWrite" | "diskImportCommit" | "diskImportAbort"
>;

/**
 * The name of an RPC a provider may leave out whatever it declares:
 * setCredentials, for a provider that takes its backend credentials from the
 * manager. Left out, calls answer UNSUPPORTED (the provider reads its own
 * credentials). The SDK never logs or traces its request.
 */
type UngatedMethodName = Extract<ProviderMethodName, "setCredentials">;

/**
 * The RPCs the SDK serves itself for a provider that moves disks, on top of
 * the provider's DiskExportRead and DiskImportWrite: DiskExportShare (with
 * a transfer listener) and DiskImportPull. A provider does not implement them.
 */
type SdkMethodName = Extract<ProviderMethodName, "diskExportShare" | "diskImportPull">;

/** The RPCs that stream both ways, whose provider method is not a ProviderMethod. */
type StreamingMethodName = Extract<ProviderMethodName, "console">;

/**
 * What the caller sends on a console: its bytes, and its terminal's size
 * whenever that changes (a serial console's window; the caller sends it when
 * the console opens too).
 */
export interface ConsoleInput extends AsyncIterable<Uint8Array> {
  /**
   * Calls `listener` with each size the caller sends, read as `input` is
   * iterated, and at once with the last one sent before, if any. A console
   * with no window (a serial line, a display) need not listen.
   */
  onResize(listener: (size: ConsoleSize) => void): void;
}

/**
 * Opens a console (`open.kind`) of the VM `open.vmId`: the bytes the caller
 * sends arrive on `input`, and the bytes yielded go back to it. The SDK has
 * read and checked the stream's first message (the VM id's format, and a
 * kind the provider declared in console_kinds), and checks each size it
 * passes to `input.onResize`. Stop when `input` ends or
 * `context.signal` aborts, and release what the console holds in a
 * `finally`: the caller may stop reading at any time. Throw `ProviderError`
 * before the first byte to refuse (NOT_FOUND, CONFLICT for a VM
 * that is not running). The first chunk tells the caller the console is
 * open (a person's client says "Connected" then): a console that may say
 * nothing at first yields an empty chunk once it is open.
 */
export type ProviderConsole = (
  open: ConsoleOpen,
  input: ConsoleInput,
  context: ProviderContext,
) => AsyncIterable<Uint8Array>;

/**
 * A VirtRigaud provider: one method per ProviderService RPC, with the
 * request and response types generated from the proto. Methods behind a
 * capability, and setCredentials, are optional; `serveProvider` checks at start-up that the
 * methods present agree with `getCapabilities`, answers UNSUPPORTED for
 * anything not declared, validates requests against the contract's rules
 * before a method sees them, and turns what methods throw into typed errors.
 *
 * Throw `ProviderError` (`ProviderError.notFound(...)` and so on) to fail a
 * call with a reason; anything else thrown reaches the caller as INTERNAL.
 */
export type Provider = {
  [
    M in Exclude<
      ProviderMethodName,
      OptionalMethodName | UngatedMethodName | StreamingMethodName | SdkMethodName
    >
  ]: ProviderMethod<M>;
} & {
  [M in OptionalMethodName | UngatedMethodName]?: ProviderMethod<M>;
} & {
  /** The Console RPC, behind console_kinds. */
  console?: ProviderConsole;
};
