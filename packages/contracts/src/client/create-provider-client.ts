import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { CallOptions } from "@connectrpc/connect";
import { ProviderService, type Task, type TaskRef } from "@virtrigaud/proto";
import type { ProviderMethodName } from "../provider.js";
import { type ServiceClientOptions, createServiceClient } from "./create-service-client.js";
import { type WaitForTaskOptions, waitForTask } from "./wait-for-task.js";

/** Options of `createProviderClient`. */
export interface ProviderClientOptions extends Omit<
  ServiceClientOptions,
  "timeouts" | "defaultTimeoutMs"
> {
  /** Deadlines per RPC in milliseconds, over `defaultTimeoutsMs`. A call's own `timeoutMs` wins. */
  timeouts?: Partial<Record<UnaryMethodName, number>>;
}

/** Deadlines of each RPC when neither the options nor the call set one. */
const defaultTimeoutsMs: Readonly<Record<UnaryMethodName, number>> = {
  validate: 15_000,
  getCapabilities: 15_000,
  setCredentials: 15_000,
  describe: 15_000,
  listVMs: 60_000,
  getTask: 15_000,
  snapshotList: 15_000,
  create: 120_000,
  delete: 120_000,
  power: 120_000,
  reconfigure: 120_000,
  snapshotCreate: 120_000,
  snapshotDelete: 120_000,
  snapshotRevert: 120_000,
  clone: 120_000,
  imagePrepare: 120_000,
  describeDisks: 15_000,
  diskExportBegin: 120_000,
  diskExportRead: 60_000,
  diskExportEnd: 60_000,
  diskImportBegin: 60_000,
  diskImportWrite: 60_000,
  diskImportCommit: 120_000,
  diskImportAbort: 60_000,
  diskExportShare: 60_000,
  diskImportPull: 60_000,
};

type Methods = (typeof ProviderService)["method"];

/** The RPCs that answer once; Console streams, with no deadline unless the call sets one. */
type UnaryMethodName = Exclude<ProviderMethodName, "console">;

/**
 * A typed ProviderService client. Every method throws `ProviderError`
 * rebuilt from the server's error detail.
 */
export type ProviderClient = {
  [M in UnaryMethodName]: (
    request: MessageInitShape<Methods[M]["input"]>,
    options?: CallOptions,
  ) => Promise<MessageShape<Methods[M]["output"]>>;
} & {
  /**
   * Opens a console: the first request is `open`, later ones `input`. The
   * stream is cancelled however the reader stops reading it.
   */
  console(
    requests: AsyncIterable<MessageInitShape<Methods["console"]["input"]>>,
    options?: CallOptions,
  ): AsyncIterable<MessageShape<Methods["console"]["output"]>>;
} & {
  /**
   * Polls a task until it is done. Returns undefined at once when the
   * operation returned no task (it finished synchronously).
   *
   * @throws ProviderError the task's own typed error when it failed.
   */
  waitForTask(
    task: TaskRef | string | undefined,
    options?: WaitForTaskOptions,
  ): Promise<Task | undefined>;
  /** Closes the client's connection. */
  close(): void;
};

/**
 * Creates a client of a provider at `endpoint` ("http://host:port" for
 * plaintext HTTP/2, "https://host:port" for TLS): `createServiceClient` for
 * ProviderService with a deadline per RPC (`defaultTimeoutsMs`), plus
 * `waitForTask`.
 *
 * @throws ProviderError INVALID_SPEC naming the TLS option at fault, as
 * `createServiceClient` does.
 */
export function createProviderClient(
  endpoint: string,
  options: ProviderClientOptions = {},
): ProviderClient {
  const client = createServiceClient(ProviderService, endpoint, {
    peerName: "the provider",
    ...options,
    timeouts: { ...defaultTimeoutsMs, ...options.timeouts },
  }) as unknown as ProviderClient;
  client.waitForTask = (task, waitOptions = {}) =>
    waitForTask(client.getTask, task, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...waitOptions,
    });
  return client;
}
