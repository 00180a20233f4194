import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ErrorReason, type ImageSourceSchema, ProviderError } from "@virtrigaud/contracts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type ChecksumType,
  CircuitState,
  ImageFormat,
  ImagePhase,
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
import { RefusalMemory, requestDigest } from "./refusals.js";
import { vmsReferring } from "./references.js";
import { createTaskFollower } from "./tasks.js";
import { providerChecksumAlgorithm, providerImageFormat } from "./vocabulary.js";
import type { ReconcileResult } from "./work-queue.js";

type ImageInit = MessageInitShape<typeof ImageSourceSchema>;

/**
 * How a provider uses an image: a template as it is; or after ImagePrepare,
 * which downloads a URL, or checks that a path is a disk image there (a
 * provider that does not prepare images uses the path as it is, `orUse`).
 */
type Plan =
  | { use: { template: string } }
  | { prepare: ImageInit; orUse?: { path: string } }
  | { none: string };

function download(url: string, checksum: string, type: ChecksumType, format: ImageFormat): Plan {
  return {
    prepare: {
      source: {
        case: "url",
        value: {
          url,
          checksum: {
            algorithm: providerChecksumAlgorithm(type),
            value: checksum.toLowerCase(),
          },
          format: providerImageFormat(format),
        },
      },
    },
  };
}

/** The section of an image a provider of this type uses. */
export function planFor(image: VMImage, type: ProviderType): Plan {
  const source = image.spec?.source;
  const libvirt = (): Plan | undefined => {
    const l = source?.libvirt;
    if (!l) return undefined;
    if (l.path)
      return { prepare: { source: { case: "path", value: l.path } }, orUse: { path: l.path } };
    return download(l.url, l.checksum, l.checksumType, l.format);
  };
  const vsphere = (): Plan | undefined => {
    const v = source?.vsphere;
    if (!v) return undefined;
    if (v.templateName) return { use: { template: v.templateName } };
    return download(v.ovaUrl, v.checksum, v.checksumType, ImageFormat.OVA);
  };
  const http = (): Plan | undefined => {
    const h = source?.http;
    return h ? download(h.url, h.checksum, h.checksumType, ImageFormat.UNSPECIFIED) : undefined;
  };
  let plan: Plan | undefined;
  switch (type) {
    case ProviderType.VSPHERE:
      plan = vsphere() ?? http();
      break;
    case ProviderType.LIBVIRT:
    case ProviderType.QEMU:
    case ProviderType.FIRECRACKER:
    case ProviderType.PROXMOX:
      plan = libvirt() ?? http();
      break;
    default:
      plan = libvirt() ?? http() ?? vsphere();
  }
  return (
    plan ?? { none: `the image has no source for ${ProviderType[type].toLowerCase()} providers` }
  );
}

/**
 * The VMImage controller: for every Provider in the image's namespace, works
 * out how that provider uses the image; an image to download, or a path on
 * the provider's host, is prepared there with ImagePrepare (idempotent by
 * name), once per generation of the spec: the provider downloads it, or
 * checks that the path is a disk image. Status says where the image is
 * available, per provider, and how many VMs use it. A refusal is a Warning
 * event and the provider's message in status; it is tried again after a
 * backoff (a long one when the same request would be refused again).
 */
export function createImageController(ctx: ControllerContext) {
  const { store } = ctx;
  const refusals = new RefusalMemory();
  const tasks = createTaskFollower(ctx, "image");
  const follow = tasks.follow;

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
      if ("none" in plan) {
        entry.available = false;
        entry.message = plan.none;
        continue;
      }
      if ("use" in plan) {
        usable(entry, plan.use);
        continue;
      }
      const conn = ctx.connections.get(providerKey);
      if (plan.orUse && conn?.capabilities && !conn.capabilities.imagePrepare) {
        usable(entry, plan.orUse);
        continue;
      }
      if (entry.available && !image.spec?.prepare?.force && !recheck) continue;
      if (!conn || conn.circuit !== CircuitState.CLOSED) {
        entry.message = "the provider is unavailable";
        continue;
      }
      if (entry.taskRef) {
        const outcome = tasks.take(conn, key, entry.taskRef);
        if (!outcome) {
          preparing = true;
          continue;
        }
        const { error } = outcome;
        entry.taskRef = "";
        if (error) {
          refused(entry, providerKey, error);
          continue;
        }
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
      }
      const request = { name: providerVmName(ns, name), source: plan.prepare };
      const wait = refusals.ask(
        `${key}@${providerKey}`,
        generation,
        requestDigest("imagePrepare", request),
        now,
      );
      if (wait) {
        retryAfterMs = Math.min(retryAfterMs ?? Infinity, wait);
        failed ||= `${providerKey}: ${entry.message}`;
        continue;
      }
      waits.push(
        (async () => {
          try {
            const response = await conn.call("imagePrepare", request);
            const prepared = response.image?.source;
            entry.id = prepared?.case === "template" ? prepared.value : "";
            entry.path = prepared?.case === "path" ? prepared.value : "";
            if (response.task) {
              ctx.event(Kind.VM_IMAGE, image, "Normal", "Preparing", `preparing on ${providerKey}`);
              entry.available = false;
              entry.taskRef = response.task.id;
              preparing = true;
              follow(conn, key, response.task.id);
            } else {
              entry.available = true;
              entry.lastUpdated = timestampFromMs(now);
              refusals.forget(`${key}@${providerKey}`);
            }
            entry.message = "";
          } catch (err) {
            // A provider that prepares no paths uses them as they are.
            if (plan.orUse && ProviderError.is(err, ErrorReason.UNSUPPORTED))
              usable(entry, plan.orUse);
            else refused(entry, providerKey, err);
          }
        })(),
      );
    }
    await Promise.all(waits);
    status.availableOn = Object.entries(status.providerStatus)
      .filter(([, s]) => s.available)
      .map(([k]) => k.slice(ns.length + 1));
    status.ready = status.availableOn.length > 0;
    status.phase = status.ready
      ? ImagePhase.READY
      : preparing
        ? ImagePhase.DOWNLOADING
        : failed
          ? ImagePhase.FAILED
          : ImagePhase.PENDING;
    status.message = failed;
    status.usedByVms = vmsReferring(store, Kind.VM_IMAGE, ns, name).length;
    status.observedGeneration = generation;
    setCondition(
      status.conditions,
      {
        type: "Ready",
        status: status.ready,
        reason: status.ready
          ? "Available"
          : preparing
            ? "Preparing"
            : failed
              ? "PrepareFailed"
              : "Pending",
        message: failed,
      },
      generation,
      now,
    );
    store.update<VMImage>(Kind.VM_IMAGE, ns, name, (copy) => {
      copy.status = status;
    });
    return retryAfterMs === undefined ? undefined : { requeueAfterMs: retryAfterMs };
  }

  return { reconcile };
}
