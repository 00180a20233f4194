/**
 * A typed vim25 SOAP client for vCenter and ESXi, in the spirit of govmomi:
 * one session per client (logged in once, kept alive, re-established once
 * when it expires), SOAP faults as typed errors, the property collector
 * (retrievals with continuation, container views, waiting for updates),
 * tasks (wait with progress, cancel) and a finder by inventory path.
 *
 * @packageDocumentation
 */

// The client and its session.
export {
  createVimClient,
  type VimClient,
  type VimClientOptions,
  type CallOptions,
  type RoundTripEvent,
  type HttpRequestOptions,
  type HttpAnswer,
} from "./client/vim-client.js";
export { type VimTlsOptions, ThumbprintMismatchError, normalizeThumbprint } from "./client/tls.js";

// Faults.
export {
  VimFault,
  ManagedObjectNotFoundError,
  InvalidArgumentError,
  InvalidPowerStateError,
  InvalidStateError,
  FileAlreadyExistsError,
  DuplicateNameError,
  NotAuthenticatedError,
  InvalidLoginError,
  NoPermissionError,
  TaskInProgressError,
  NotSupportedError,
  RequestCanceledError,
  ToolsUnavailableError,
  InvalidNameError,
  InsufficientResourcesError,
  VimProtocolError,
  VimConnectionError,
  toVimFault,
  fromLocalizedFault,
} from "./soap/faults.js";

// The property collector and tasks.
export {
  retrieveProperties,
  retrieveOne,
  retrieveMany,
  propertiesOf,
  createContainerView,
  containerView,
  waitForUpdates,
  type ContainerView,
  type PropertyValues,
  type RetrieveOptions,
  type WaitForUpdatesOptions,
} from "./property-collector.js";
export { waitForTask, readTask, cancelTask, isTaskDone, type WaitForTaskOptions } from "./tasks.js";

// The finder.
export {
  createFinder,
  escapeInventoryName,
  InventoryNotFoundError,
  InventoryAmbiguousError,
  type Finder,
  type FinderOptions,
  type InventoryItem,
  type InventoryKind,
} from "./finder.js";

// The datastore file service.
export {
  type DatastoreFile,
  type DatastoreFileStat,
  type DatastoreFileBytes,
  DatastoreFileError,
  datastorePath,
  parseDatastorePath,
  datastoreFileUrlPath,
  statDatastoreFile,
  readDatastoreFile,
  openDatastoreFile,
  uploadDatastoreFile,
  makeDatastoreDirectory,
  deleteDatastoreFile,
} from "./datastore-files.js";

// Virtual machine operations.
export * from "./vm.js";

// Envelopes and values, for tools and tests.
export { buildEnvelope, readResponse } from "./soap/envelope.js";
export { xsdValue, type XsdValue } from "./vim/encode.js";
export { escapeXml } from "./xml/escape.js";

// The vim25 types.
export type * from "./gen/vim-types.js";
