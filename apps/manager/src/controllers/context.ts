import type { Logger } from "@virtrigaud/contracts";
import { EventType, type Kind } from "@virtrigaud/proto/manager";
import type { AnyResource } from "../manifest/kinds.js";
import type { SecretAccess } from "../secrets/secret-access.js";
import type { EndpointAllowlist } from "./endpoint-allowlist.js";
import type { Fence, ResourceStore } from "../store/store.js";
import type { ProviderConnection } from "./provider-connection.js";
import type { WorkQueue } from "./work-queue.js";

/** Settings of the controllers. */
export interface ControllerSettings {
  /** Between health probes of a healthy provider. */
  healthIntervalMs: number;
  /** Between ListVMs pages of the drift sweep, per provider. */
  driftPageIntervalMs: number;
  /** The longest wait between probes of a provider whose circuit is open. */
  maxProbeIntervalMs: number;
  /** The first wait between probes of a provider whose circuit is open. */
  minProbeIntervalMs: number;
  /** The only directory Provider TLS files may be in (--provider-tls-dir). */
  providerTlsDir: string | undefined;
  /** Where Provider endpoints may point (--provider-endpoints); unset, anywhere. */
  providerEndpoints?: EndpointAllowlist | undefined;
  /** Where migrations with spec.storage stage their disks (--migration-staging-dir). */
  migrationStagingDir?: string | undefined;
}

/** The queues, one per controller; keys are "namespace/name". */
export interface Queues {
  provider: WorkQueue;
  vm: WorkQueue;
  snapshot: WorkQueue;
  clone: WorkQueue;
  migration: WorkQueue;
  image: WorkQueue;
  usage: WorkQueue;
}

/** What every controller works with. */
export interface ControllerContext {
  store: ResourceStore;
  logger: Logger;
  settings: ControllerSettings;
  queues: Queues;
  /** Connections to providers, by "namespace/name" of the Provider. */
  connections: Map<string, ProviderConnection>;
  /** The outcome of provider tasks that ended: undefined for success. */
  taskOutcomes: Map<string, Error | undefined>;
  now(): number;
  /** Counts an RPC to the provider "namespace/name" (`error` undefined for success), for metrics. */
  providerCall(provider: string, method: string, error: unknown): void;
  /** The term the controllers act in, where several managers share the store. */
  fence?: Fence;
  /** Opens the Secrets VMs' cloud-init comes from. */
  secrets: SecretAccess;
  /** Records an event about a resource. */
  event(
    kind: Kind,
    resource: AnyResource,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void;
}

/** Splits a queue key "namespace/name". */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The queue key of a resource. */
export function keyOf(resource: AnyResource): string {
  return `${resource.metadata?.namespace || "default"}/${resource.metadata?.name ?? ""}`;
}

/** Records events through the store. */
export function eventRecorder(store: ResourceStore): ControllerContext["event"] {
  return (kind, resource, type, reason, message) =>
    store.recordEvent({
      kind,
      namespace: resource.metadata?.namespace || "default",
      name: resource.metadata?.name ?? "",
      uid: resource.metadata?.uid ?? "",
      type: type === "Normal" ? EventType.NORMAL : EventType.WARNING,
      reason,
      message,
    });
}
