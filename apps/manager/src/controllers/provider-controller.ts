import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ProviderError } from "@virtrigaud/contracts";
import {
  CircuitState,
  Kind,
  type Provider as ProviderResource,
  ProviderCapability,
  ProviderPhase,
  type ProviderStatus,
  ProviderStatusSchema,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { durationMs } from "../manifest/quantities.js";
import { setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import { ProviderConnection } from "./provider-connection.js";
import { detectDrift } from "./drift.js";
import { providerKeyOf } from "./vm-controller.js";
import type { ReconcileResult } from "./work-queue.js";

function capabilityNames(caps: ProviderConnection["capabilities"]): ProviderCapability[] {
  if (!caps) return [];
  const out = [ProviderCapability.VIRTUAL_MACHINES];
  if (caps.snapshots) out.push(ProviderCapability.SNAPSHOTS);
  if (caps.fullClones || caps.linkedClones) out.push(ProviderCapability.CLONING);
  if (caps.console) out.push(ProviderCapability.CONSOLE_ACCESS);
  if (caps.onlineDiskGrow || caps.diskTypes.length) out.push(ProviderCapability.DISK_MANAGEMENT);
  if (caps.networkTypes.length) out.push(ProviderCapability.NETWORK_MANAGEMENT);
  if (caps.imagePrepare || caps.imageSources.length) out.push(ProviderCapability.TEMPLATES);
  return out;
}

/** What makes a connection: a change of any of it makes a new one. */
function connectionSignature(p: ProviderResource): string {
  const s = p.spec;
  return JSON.stringify([
    s?.endpoint,
    s?.tls?.caFile,
    s?.tls?.certFile,
    s?.tls?.keyFile,
    s?.tls?.serverName,
    s?.rateLimit?.qps,
    s?.rateLimit?.burst,
    s?.healthCheck?.failureThreshold,
  ]);
}

/**
 * The Provider controller: keeps a connection to each provider, probes its
 * health with Validate, records its capabilities, and runs the circuit
 * breaker: when calls fail the circuit opens, the VMs on the provider report
 * ProviderUnavailable, and the provider is probed back with growing pauses;
 * when a probe passes, the circuit closes and every VM on it is reconciled.
 */
export function createProviderController(ctx: ControllerContext) {
  const { store } = ctx;
  const signatures = new Map<string, string>();
  const probeFailures = new Map<string, number>();
  /** Connections that have not yet passed a probe. */
  const fresh = new Set<string>();

  const wakeDependents = (key: string) => {
    for (const m of store.list(Kind.VIRTUAL_MACHINE)) {
      if (providerKeyOf(m as VirtualMachine) === key)
        ctx.queues.vm.add(`${m.metadata?.namespace}/${m.metadata?.name}`);
    }
    const { namespace } = splitKey(key);
    for (const kind of [Kind.VM_SNAPSHOT, Kind.VM_CLONE, Kind.VM_IMAGE] as const) {
      const queue =
        kind === Kind.VM_SNAPSHOT
          ? ctx.queues.snapshot
          : kind === Kind.VM_CLONE
            ? ctx.queues.clone
            : ctx.queues.image;
      for (const m of store.list(kind, namespace)) queue.add(`${namespace}/${m.metadata?.name}`);
    }
  };

  const connect = (key: string, p: ProviderResource): ProviderConnection => {
    const spec = p.spec;
    const tls = spec?.tls;
    const conn = new ProviderConnection({
      name: key,
      endpoint: spec?.endpoint ?? "",
      ...(tls && (tls.caFile || tls.certFile || tls.serverName)
        ? {
            tls: {
              ...(tls.caFile ? { caFile: tls.caFile } : {}),
              ...(tls.certFile ? { certFile: tls.certFile, keyFile: tls.keyFile } : {}),
              ...(tls.serverName ? { serverName: tls.serverName } : {}),
            },
          }
        : {}),
      ...(spec?.rateLimit?.qps ? { qps: spec.rateLimit.qps, burst: spec.rateLimit.burst } : {}),
      ...(spec?.healthCheck?.failureThreshold
        ? { failureThreshold: spec.healthCheck.failureThreshold }
        : {}),
      logger: ctx.logger,
      onCall: (method, error) => ctx.providerCall(key, method, error),
      onCircuitChange: (state) => {
        ctx.queues.provider.add(key);
        if (state === CircuitState.OPEN) {
          // VMs waiting on this provider report it at once.
          for (const m of store.list(Kind.VIRTUAL_MACHINE)) {
            if (providerKeyOf(m as VirtualMachine) === key)
              ctx.queues.vm.add(`${m.metadata?.namespace}/${m.metadata?.name}`);
          }
        }
      },
    });
    conn.startSweep(ctx.settings.driftPageIntervalMs, (vms, startedAt) =>
      detectDrift(ctx, key, vms, startedAt),
    );
    return conn;
  };

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const p = store.get(Kind.PROVIDER, namespace, name) as ProviderResource | undefined;
    let conn = ctx.connections.get(key);
    if (!p || p.metadata?.deletionTimestamp) {
      conn?.close();
      ctx.connections.delete(key);
      signatures.delete(key);
      return;
    }
    const meta = p.metadata;
    if (!meta) return;
    const signature = connectionSignature(p);
    if (!conn || signatures.get(key) !== signature) {
      conn?.close();
      conn = connect(key, p);
      ctx.connections.set(key, conn);
      signatures.set(key, signature);
      fresh.add(key);
    }
    const now = ctx.now();
    const status: ProviderStatus = p.status
      ? clone(ProviderStatusSchema, p.status)
      : create(ProviderStatusSchema);
    const wasReady = status.phase === ProviderPhase.READY;
    const enabled = p.spec?.healthCheck?.enabled ?? true;
    const interval = p.spec?.healthCheck?.interval
      ? durationMs(p.spec.healthCheck.interval)
      : ctx.settings.healthIntervalMs;
    let healthy: boolean;
    let message: string;
    try {
      message =
        enabled || conn.circuit !== CircuitState.CLOSED
          ? await conn.probe()
          : "health checks are off";
      if (!conn.capabilities || status.observedGeneration !== meta.generation) {
        const { capabilities } = await conn.call("getCapabilities", {});
        conn.capabilities = capabilities;
      }
      healthy = true;
      probeFailures.delete(key);
    } catch (err) {
      healthy = false;
      message = ProviderError.from(err).rawMessage;
      probeFailures.set(key, (probeFailures.get(key) ?? 0) + 1);
    }
    status.healthy = healthy;
    status.lastHealthCheck = timestampFromMs(now);
    status.phase = healthy ? ProviderPhase.READY : ProviderPhase.UNAVAILABLE;
    status.circuit = conn.circuit;
    status.message = healthy ? "" : message;
    if (conn.capabilities) {
      status.details = conn.capabilities;
      status.capabilities = capabilityNames(conn.capabilities);
      status.version = conn.capabilities.providerVersion;
    }
    status.connectedVms = store
      .list(Kind.VIRTUAL_MACHINE)
      .filter(
        (m) =>
          (m as VirtualMachine).status?.boundProvider?.name === name &&
          (m as VirtualMachine).status?.boundProvider?.namespace === namespace,
      ).length;
    setCondition(
      status.conditions,
      {
        type: "Healthy",
        status: healthy,
        reason: healthy ? "ValidateSucceeded" : "ValidateFailed",
        message,
      },
      meta.generation,
      now,
    );
    setCondition(
      status.conditions,
      {
        type: "Ready",
        status: healthy,
        reason: healthy ? "Ready" : "ProviderUnavailable",
        message: healthy ? "" : message,
      },
      meta.generation,
      now,
    );
    status.observedGeneration = meta.generation;
    // Only a change of state is written: a probe that finds nothing new writes nothing.
    const previous = p.status;
    const changed =
      !previous ||
      previous.phase !== status.phase ||
      previous.circuit !== status.circuit ||
      previous.message !== status.message ||
      previous.connectedVms !== status.connectedVms ||
      previous.observedGeneration !== status.observedGeneration ||
      previous.version !== status.version;
    if (changed) {
      store.update<ProviderResource>(Kind.PROVIDER, namespace, name, (copy) => {
        copy.status = status;
      });
    }
    if (healthy && (!wasReady || fresh.has(key))) {
      fresh.delete(key);
      ctx.event(Kind.PROVIDER, p, "Normal", "ProviderReady", message || "Validate succeeded");
      wakeDependents(key);
    } else if (!healthy && wasReady) {
      ctx.event(Kind.PROVIDER, p, "Warning", "ProviderUnavailable", message);
      wakeDependents(key);
    }
    if (healthy) return { requeueAfterMs: interval };
    const failures = probeFailures.get(key) ?? 1;
    const backoff = Math.min(
      ctx.settings.maxProbeIntervalMs,
      ctx.settings.minProbeIntervalMs * 2 ** (failures - 1),
    );
    return { requeueAfterMs: backoff };
  }

  return {
    reconcile,
    close() {
      for (const conn of ctx.connections.values()) conn.close();
      ctx.connections.clear();
    },
  };
}
