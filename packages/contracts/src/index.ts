/**
 * The VirtRigaud provider SDK.
 *
 * A provider author implements `Provider` (one method per ProviderService
 * RPC, typed from the proto), throws `ProviderError` to fail a call with a
 * reason, and hands the object to `serveProvider` (or `runProvider` in a
 * binary's main). Callers use `createProviderClient`.
 *
 * @packageDocumentation
 */

// Writing a provider.
export type {
  Provider,
  ProviderContext,
  ProviderMethod,
  ProviderMethodName,
  ProviderRequest,
  ProviderResponse,
  OptionalMethodName,
} from "./provider.js";
export { optionalMethods } from "./provider.js";
export { ProviderError, type ProviderErrorOptions } from "./errors/provider-error.js";
export {
  createTaskTracker,
  type TaskTracker,
  type TaskTrackerOptions,
  type TaskControl,
} from "./tasks/task-tracker.js";
export { createOnceByName, type CreateOnce, type KeepAnswer } from "./operations/create-once.js";
export { createKeyedLock, type KeyedLock } from "./operations/keyed-lock.js";
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
export { createConcurrencyLimiter, type ConcurrencyLimiter } from "./limits/concurrency-limiter.js";
export { type Clock, systemClock } from "./clock.js";
export {
  loadCredentials,
  type Credentials,
  type LoadCredentialsOptions,
} from "./credentials/load-credentials.js";
export { Secret } from "./credentials/secret.js";
export {
  createLogger,
  redactedFields,
  type Logger,
  type LoggerOptions,
  type LogLevel,
} from "./logging/create-logger.js";
export { validateMessage, findViolation } from "./validation/validate-message.js";
export type { Violation } from "./validation/message-rules.js";

// Serving a provider.
export { serveProvider, type ProviderServer } from "./server/serve-provider.js";
export {
  type ServeOptions,
  type ServeProviderOptions,
  ServeConfigError,
  compileServeOptions,
  parseListenAddress,
} from "./server/serve-options.js";
export type { TlsFiles } from "./server/tls.js";
export {
  runProvider,
  serveFlags,
  serveFlagsHelp,
  formatServeFlagsHelp,
  serveOptionsFromFlags,
  type RunProviderOptions,
  type FlagValues,
} from "./server/run-provider.js";
export { ServingStatus } from "./server/health.js";
export {
  checkCapabilityAgreement,
  findUndeclared,
  type CapabilityAgreement,
} from "./server/capabilities.js";
export { setupTracing, type Tracing, type TracingOptions } from "./telemetry/setup-tracing.js";
export { parseDuration } from "./duration.js";
export { parseByteSize } from "./byte-size.js";
export { clip, quote } from "./clip.js";
export { pageTokenAfter, pageTokenOf } from "./paging.js";

// Serving and calling any Connect service the VirtRigaud way.
export {
  serveServices,
  servedService,
  type ServedService,
  type ServeServicesOptions,
  type ServicesServer,
} from "./server/serve-services.js";
export type { CallGuard } from "./server/interceptors/guards.js";
export {
  createServerMetrics,
  type ServerMetrics,
  type ServerMetricsOptions,
} from "./server/server-metrics.js";
export {
  createServiceClient,
  type ServiceClient,
  type ServiceClientOptions,
  type ClientProtocol,
  type ClientTlsOptions,
} from "./client/create-service-client.js";

// Calling a provider.
export {
  createProviderClient,
  defaultTimeoutsMs,
  type ProviderClient,
  type ProviderClientOptions,
  type ProviderClientProtocol,
  type ProviderClientTlsOptions,
} from "./client/create-provider-client.js";
export { withRetries, type RetryOptions } from "./client/retry-policy.js";
export {
  findTlsProblem,
  type TlsMaterial,
  type TlsPart,
  type TlsProblem,
} from "./client/client-tls.js";
export { transportFailureOf, type TransportFailure } from "./client/transport-errors.js";
export { waitForTask, type WaitForTaskOptions } from "./client/wait-for-task.js";

// The error model's wire mapping.
export {
  codeOfReason,
  reasonOfCode,
  reasonName,
  isRetryableReason,
} from "./errors/reason-codes.js";
export { toErrorDetail, toConnectError } from "./errors/wire.js";

// The contract's generated types and schemas, so a provider imports one package.
export * from "@virtrigaud/proto";
