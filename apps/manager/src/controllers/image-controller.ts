import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import {
  CircuitState,
  Kind,
  type Provider as ProviderResource,
  ProviderType,
  type VMImage,
  type VMImageStatus,
  VMImageStatusSchema,
  type ProviderImageStatus,
  ProviderImageStatusSchema,
} from "@virtrigaud/proto/manager";
import { setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import { providerVmName } from "./provider-names.js";
import { planFor, planImageEntry, summarizeImage } from "./image-plan.js";
import { RefusalMemory } from "./refusals.js";
import { vmsReferring } from "./references.js";
import { createTaskFollower } from "./tasks.js";
import type { ReconcileResult } from "./work-queue.js";

/**
 * The VMImage controller: for every Provider in the image's namespace, works
 * out how that provider uses the image; an image to download, or a path on
 * the provider's host, is prepared there with ImagePrepare (idempotent by
 * name), once per generation of the spec: the provider downloads it, or
 * checks that the path is a disk image. Status says where the image is
 * available, per provider, and how many VMs use it. A refusal is a Warning
 * event and the provider's message in status; it is tried again after a
 * backoff (a long one when the same request would be refused again).
 *
 * What to do on each provider is decided in `image-plan.ts`; this file
 * carries it out.
 */
export function createImageController(ctx: ControllerContext) {
  const { store } = ctx;
  const refusals = new RefusalMemory();
  const tasks = createTaskFollower(ctx, "image");

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace: ns, name } = splitKey(key);
    const image = store.get(Kind.VM_IMAGE, ns, name) as VMImage | undefined;
    const meta = image?.metadata;
    if (!image || !meta || meta.deletionTimestamp) return;
    const now = ctx.now();
    const generation = meta.generation;
    const status: VMImageStatus = image.status
      ? clone(VMImageStatusSchema, image.status)
      : create(VMImageStatusSchema);
    // A new spec is prepared again everywhere.
    const recheck = status.observedGeneration !== generation;
    const providers = store.list(Kind.PROVIDER, ns) as ProviderResource[];
    const keys = new Set(providers.map((p) => `${ns}/${p.metadata?.name}`));
    for (const k of Object.keys(status.providerStatus))
      if (!keys.has(k)) delete status.providerStatus[k];
    let preparing = false;
    let failed = "";
    let retryAfterMs: number | undefined;
    const waits: Array<Promise<void>> = [];
    const usable = (entry: ProviderImageStatus, use: { path?: string; template?: string }) => {
      entry.available = true;
      entry.id = use.template ?? "";
      entry.path = use.path ?? "";
      entry.message = "";
    };
    /** Records a refusal of ImagePrepare on one provider. */
    const refused = (entry: ProviderImageStatus, providerKey: string, thrown: unknown) => {
      const refusal = refusals.refuse(`${key}@${providerKey}`, generation, thrown, now);
      entry.available = false;
      entry.message = refusal.message;
      failed ||= `${providerKey}: ${refusal.message}`;
      retryAfterMs = Math.min(retryAfterMs ?? Infinity, refusal.retryAfterMs);
      if (!refusal.outage)
        ctx.event(
          Kind.VM_IMAGE,
          image,
          "Warning",
          "PrepareFailed",
          `${providerKey}: ${refusal.message}`,
        );
    };
    for (const p of providers) {
      const providerKey = `${ns}/${p.metadata?.name}`;
      const entry = status.providerStatus[providerKey] ?? create(ProviderImageStatusSchema);
      status.providerStatus[providerKey] = entry;
      const plan = planFor(image, p.spec?.type ?? ProviderType.UNSPECIFIED);
      const conn = ctx.connections.get(providerKey);
      const taskId = entry.taskRef;
      const step = planImageEntry({
        plan,
        entry,
        preparesImages: conn?.capabilities ? conn.capabilities.imagePrepare : undefined,
        reachable: conn !== undefined && conn.circuit === CircuitState.CLOSED,
        again: (image.spec?.prepare?.force ?? false) || recheck,
        task: taskId ? tasks.peek(taskId) : undefined,
      });
      switch (step.kind) {
        case "unusable":
          entry.available = false;
          entry.message = step.message;
          continue;
        case "use":
          usable(entry, step.use);
          continue;
        case "keep":
          continue;
        case "unavailable":
          entry.message = "the provider is unavailable";
          continue;
        case "followTask":
          preparing = true;
          if (conn) tasks.follow(conn, key, step.taskId);
          continue;
        case "taskFailed":
          tasks.forget(taskId);
          entry.taskRef = "";
          refused(entry, providerKey, step.error);
          continue;
        case "prepared":
          tasks.forget(taskId);
          entry.taskRef = "";
          entry.available = true;
          entry.lastUpdated = timestampFromMs(now);
          entry.message = "";
          refusals.forget(`${key}@${providerKey}`);
          ctx.event(
            Kind.VM_IMAGE,
            image,
            "Normal",
            "Prepared",
            `available on ${providerKey} as ${entry.id || entry.path}`,
          );
          continue;
        case "prepare":
          break;
      }
      if (!conn) continue;
      const orUse = step.orUse;
      const request = { name: providerVmName(ns, name), source: step.source };
      const wait = refusals.ask(`${key}@${providerKey}`, generation, "imagePrepare", request, now);
      if (wait) {
        retryAfterMs = Math.min(retryAfterMs ?? Infinity, wait);
        failed ||= `${providerKey}: ${entry.message}`;
        continue;
      }
      waits.push(
        (async () => {
          try {
            const response = await conn.client.imagePrepare(request);
            const prepared = response.image?.source;
            entry.id = prepared?.case === "template" ? prepared.value : "";
            entry.path = prepared?.case === "path" ? prepared.value : "";
            if (response.task) {
              ctx.event(Kind.VM_IMAGE, image, "Normal", "Preparing", `preparing on ${providerKey}`);
              entry.available = false;
              entry.taskRef = response.task.id;
              preparing = true;
              tasks.follow(conn, key, response.task.id);
            } else {
              entry.available = true;
              entry.lastUpdated = timestampFromMs(now);
              refusals.forget(`${key}@${providerKey}`);
            }
            entry.message = "";
          } catch (err) {
            // A provider that prepares no paths uses them as they are.
            if (orUse && ProviderError.is(err, ErrorReason.UNSUPPORTED)) usable(entry, orUse);
            else refused(entry, providerKey, err);
          }
        })(),
      );
    }
    await Promise.all(waits);
    status.availableOn = Object.entries(status.providerStatus)
      .filter(([, s]) => s.available)
      .map(([k]) => k.slice(ns.length + 1));
    const summary = summarizeImage(status.providerStatus, preparing, failed);
    status.ready = summary.ready;
    status.phase = summary.phase;
    status.message = failed;
    status.usedByVms = vmsReferring(store, Kind.VM_IMAGE, ns, name).length;
    status.observedGeneration = generation;
    setCondition(
      status.conditions,
      {
        type: "Ready",
        status: status.ready,
        reason: summary.reason,
        message: failed,
      },
      generation,
      now,
    );
    await store.update<VMImage>(Kind.VM_IMAGE, ns, name, (copy) => {
      copy.status = status;
    });
    return retryAfterMs === undefined ? undefined : { requeueAfterMs: retryAfterMs };
  }

  return { reconcile };
}
