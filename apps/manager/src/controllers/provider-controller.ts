import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
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
import { type ControllerContext, keyOf, splitKey } from "./context.js";
import { ProviderConnection } from "./provider-connection.js";
import {
  type HealthOutcome,
  type HealthPacing,
  healthFailureReason,
  nextPacing,
  pacingAfterCallsFailed,
} from "./provider-health.js";
import { allowlistLookup, judgeEndpointNow } from "./endpoint-lookup.js";
import { loadProviderTls } from "./provider-tls.js";
import { detectDrift } from "./drift.js";
import { credentialsVersion, planCredentials } from "./provider-credentials.js";
import { providerKeyOf } from "./references.js";
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
 * ProviderUnavailable, and the provider is probed back with growing pauses
 * (`probeBackoffMs`), whatever the failure; when a probe passes, the circuit
 * closes and every VM on it is reconciled. A Provider whose TLS files do
 * not work, or whose endpoint is no provider, is Ready=False with a reason
 * that says so, and is checked again on the same schedule.
 *
 * A Provider naming a Secret in spec.credentialSecretRef gets its data with
 * SetCredentials before every probe (idempotent at the provider, and so
 * again after the provider restarted or the connection was made anew), and
 * at once when the Secret or the endpoint changes; never over plaintext to
 * another host.
 */
export function createProviderController(ctx: ControllerContext) {
  const { store } = ctx;
  const signatures = new Map<string, string>();
  const pacings = new Map<string, HealthPacing>();
  /** Connections that have not yet passed a probe. */
  const fresh = new Set<string>();
  /** The revision of its credentials each Provider was last checked with. */
  const checkedCredentials = new Map<string, string>();
  const lookup = store.get.bind(store);

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
    // A migration's target provider may be of another namespace than the migration.
    for (const m of store.list(Kind.VM_MIGRATION)) ctx.queues.migration.add(keyOf(m));
  };

  /**
   * A connection to the provider.
   *
   * @throws ProviderError INVALID_SPEC naming the TLS file that does not work.
   */
  const connect = (key: string, p: ProviderResource): ProviderConnection => {
    const spec = p.spec;
    const tls = loadProviderTls(
      spec?.tls,
      (option) => `spec.tls.${option}`,
      ctx.settings.providerTlsDir,
    );
    const conn: ProviderConnection = new ProviderConnection({
      name: key,
      endpoint: spec?.endpoint ?? "",
      ...(tls ? { tls } : {}),
      ...(ctx.settings.providerEndpoints
        ? { lookup: allowlistLookup(ctx.settings.providerEndpoints) }
        : {}),
      ...(spec?.rateLimit?.qps ? { qps: spec.rateLimit.qps, burst: spec.rateLimit.burst } : {}),
      ...(spec?.healthCheck?.failureThreshold
        ? { failureThreshold: spec.healthCheck.failureThreshold }
        : {}),
      logger: ctx.logger,
      ...(ctx.fence ? { fence: ctx.fence } : {}),
      onCall: (method, error) => ctx.providerCall(key, method, error),
      onCircuitOpened: (reason) => {
        // Report it now; probe after the backoff, not at once.
        pacings.set(key, pacingAfterCallsFailed(pacings.get(key), reason, ctx.now(), ctx.settings));
        ctx.queues.provider.add(key);
        // VMs waiting on this provider report it at once.
        for (const m of store.list(Kind.VIRTUAL_MACHINE)) {
          if (providerKeyOf(m as VirtualMachine) === key)
            ctx.queues.vm.add(`${m.metadata?.namespace}/${m.metadata?.name}`);
        }
      },
    });
    conn.startSweep(ctx.settings.driftPageIntervalMs, (vms, startedAt) =>
      detectDrift(ctx, key, vms, startedAt),
    );
    return conn;
  };

  /** Connects if need be, probes, and reads the capabilities when they are not known. */
  async function check(
    key: string,
    p: ProviderResource,
    readCapabilities: boolean,
  ): Promise<HealthOutcome> {
    const allowlist = ctx.settings.providerEndpoints;
    const outside = allowlist && (await judgeEndpointNow(allowlist, p.spec?.endpoint ?? ""));
    if (outside) {
      // Where the endpoint points now is outside the list: no connection there.
      ctx.connections.get(key)?.close();
      ctx.connections.delete(key);
      return {
        healthy: false,
        reason: "EndpointNotAllowed",
        message: `spec.endpoint is not allowed: ${outside}`,
      };
    }
    let conn = ctx.connections.get(key);
    if (!conn) {
      try {
        conn = connect(key, p);
      } catch (err) {
        const error = ProviderError.from(err);
        return {
          healthy: false,
          reason: "InvalidSpec",
          message: error.field ? `${error.field}: ${error.rawMessage}` : error.rawMessage,
        };
      }
      ctx.connections.set(key, conn);
      fresh.add(key);
    }
    const credentials = planCredentials(p, lookup, (secret) => ctx.secrets.valuesOf(secret));
    if (credentials.blocked) return { healthy: false, ...credentials.blocked };
    if (credentials.send) {
      try {
        await conn.sendCredentials(credentials.data);
      } catch (err) {
        const error = ProviderError.from(err);
        const reason = healthFailureReason(error);
        // The provider's answer names no value: its own words, as a refusal.
        return {
          healthy: false,
          reason: reason === "ValidateFailed" ? "CredentialsRefused" : reason,
          message: `SetCredentials: ${error.rawMessage}`,
        };
      }
    }
    const enabled = p.spec?.healthCheck?.enabled ?? true;
    try {
      const message =
        enabled || conn.circuit !== CircuitState.CLOSED
          ? await conn.probe()
          : "health checks are off";
      if (!conn.capabilities || readCapabilities) {
        const { capabilities } = await conn.client.getCapabilities({});
        conn.capabilities = capabilities;
      }
      return { healthy: true, message };
    } catch (err) {
      const error = ProviderError.from(err);
      // Credentials the provider took but its backend refuses.
      const refused = credentials.send && ProviderError.is(error, ErrorReason.UNAUTHENTICATED);
      return {
        healthy: false,
        reason: refused ? "CredentialsRefused" : healthFailureReason(error),
        message: error.rawMessage,
      };
    }
  }

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const p = store.get(Kind.PROVIDER, namespace, name) as ProviderResource | undefined;
    if (!p || p.metadata?.deletionTimestamp) {
      ctx.connections.get(key)?.close();
      ctx.connections.delete(key);
      signatures.delete(key);
      pacings.delete(key);
      fresh.delete(key);
      checkedCredentials.delete(key);
      return;
    }
    const meta = p.metadata;
    if (!meta) return;
    const signature = connectionSignature(p);
    if (signatures.get(key) !== signature) {
      // A new endpoint or TLS: a new connection, checked at once.
      ctx.connections.get(key)?.close();
      ctx.connections.delete(key);
      signatures.set(key, signature);
      pacings.delete(key);
    }
    const status: ProviderStatus = p.status
      ? clone(ProviderStatusSchema, p.status)
      : create(ProviderStatusSchema);
    const wasReady = status.phase === ProviderPhase.READY;
    const interval = p.spec?.healthCheck?.interval
      ? durationMs(p.spec.healthCheck.interval)
      : ctx.settings.healthIntervalMs;
    // Checked when due, however often the key is queued: by a change of the
    // Provider, by calls that opened the circuit, or by the timer below.
    // A Secret that changed is sent at once, not at the next probe.
    let pacing = pacings.get(key);
    const credentialsAt = credentialsVersion(p, lookup);
    if (
      !pacing ||
      ctx.now() >= pacing.nextCheckAt ||
      checkedCredentials.get(key) !== credentialsAt
    ) {
      checkedCredentials.set(key, credentialsAt);
      const outcome = await check(key, p, status.observedGeneration !== meta.generation);
      pacing = nextPacing(pacing, outcome, ctx.now(), interval, ctx.settings);
      pacings.set(key, pacing);
    }
    const outcome = pacing.last;
    const conn = ctx.connections.get(key);
    const now = ctx.now();
    const { healthy, message } = outcome;
    const reason = outcome.healthy ? "Ready" : outcome.reason;
    status.healthy = healthy;
    status.lastHealthCheck = timestampFromMs(now);
    status.phase = healthy ? ProviderPhase.READY : ProviderPhase.UNAVAILABLE;
    status.circuit = conn?.circuit ?? CircuitState.OPEN;
    status.message = healthy ? "" : message;
    if (conn?.capabilities) {
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
    const before = p.status?.conditions.find((c) => c.type === "Ready");
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
      { type: "Ready", status: healthy, reason, message: healthy ? "" : message },
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
      previous.version !== status.version ||
      before?.reason !== reason;
    if (changed) {
      await store.update<ProviderResource>(Kind.PROVIDER, namespace, name, (copy) => {
        copy.status = status;
      });
    }
    if (healthy && (!wasReady || fresh.has(key))) {
      fresh.delete(key);
      ctx.event(Kind.PROVIDER, p, "Normal", "ProviderReady", message || "Validate succeeded");
      wakeDependents(key);
    } else if (!healthy && (wasReady || before?.reason !== reason)) {
      // Once per change of reason, not once per probe.
      ctx.event(Kind.PROVIDER, p, "Warning", reason, message);
      if (wasReady) wakeDependents(key);
    }
    return { requeueAfterMs: Math.max(1, pacing.nextCheckAt - ctx.now()) };
  }

  return {
    reconcile,
    close() {
      for (const conn of ctx.connections.values()) conn.close();
      ctx.connections.clear();
    },
  };
}
