/**
 * Calling a provider, or any Connect service, the VirtRigaud way: typed
 * clients that rebuild `ProviderError`, put a deadline on every call, retry
 * what is safe to retry, speak TLS and mutual TLS, and follow tasks.
 *
 * @packageDocumentation
 */
export {
  createProviderClient,
  type ProviderClient,
  type ProviderClientOptions,
} from "./create-provider-client.js";
export {
  createServiceClient,
  type ServiceClient,
  type ServiceClientOptions,
  type ClientProtocol,
  type ClientTlsOptions,
} from "./create-service-client.js";
export type { RetryOptions } from "./retry-policy.js";
export { waitForTask, type WaitForTaskOptions } from "./wait-for-task.js";
export { findTlsProblem, type TlsMaterial, type TlsPart, type TlsProblem } from "./client-tls.js";
