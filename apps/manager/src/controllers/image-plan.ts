/**
 * The VMImage controller's decisions, apart from its effects: pure
 * functions of the image, each provider's entry in its status, what the
 * provider can do and how its task ended. `image-controller.ts` carries
 * them out.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ImageSourceSchema } from "@virtrigaud/contracts";
import {
  type ChecksumType,
  ImageFormat,
  ImagePhase,
  type ProviderImageStatus,
  ProviderType,
  type VMImage,
} from "@virtrigaud/proto/manager";
import type { TaskOutcome } from "./tasks.js";
import { providerChecksumAlgorithm, providerImageFormat } from "./vocabulary.js";

type ImageInit = MessageInitShape<typeof ImageSourceSchema>;

/**
 * How a provider uses an image: a template as it is; or after ImagePrepare,
 * which downloads a URL, or checks that a path is a disk image there (a
 * provider that does not prepare images uses the path as it is, `orUse`).
 */
export type Plan =
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

/** What the plan needs to know of one provider of the image. */
export interface ImageEntryFacts {
  /** How this provider uses the image (`planFor`). */
  plan: Plan;
  /** The provider's entry in the image's status, as it stands. */
  entry: ProviderImageStatus;
  /** Whether the provider prepares images, when its capabilities are known. */
  preparesImages: boolean | undefined;
  /** The provider can be reached. */
  reachable: boolean;
  /** Prepare again though it is available: spec.prepare.force, or a new generation of the spec. */
  again: boolean;
  /** How the task in entry.taskRef ended; undefined while it runs (or when there is none). */
  task: TaskOutcome | undefined;
}

/** What the VMImage controller does on one provider. */
export type ImageEntryStep =
  /** The provider cannot use the image: `message` says why. */
  | { kind: "unusable"; message: string }
  /** The provider uses it as it is: a template, or a path (it prepares no images). */
  | { kind: "use"; use: { path?: string; template?: string } }
  /** Available already: nothing to do. */
  | { kind: "keep" }
  /** The provider is unavailable: say so, and wait for it. */
  | { kind: "unavailable" }
  /** ImagePrepare's task still runs: follow it. */
  | { kind: "followTask"; taskId: string }
  /** ImagePrepare's task failed: show the refusal. */
  | { kind: "taskFailed"; error: Error }
  /** ImagePrepare's task succeeded: available. */
  | { kind: "prepared" }
  /** Prepare it (`orUse` when the provider turns out to prepare no paths). */
  | { kind: "prepare"; source: ImageInit; orUse: { path: string } | undefined };

/** The next step on one provider of an image: a pure function of `facts`. */
export function planImageEntry(facts: ImageEntryFacts): ImageEntryStep {
  const { plan, entry } = facts;
  if ("none" in plan) return { kind: "unusable", message: plan.none };
  if ("use" in plan) return { kind: "use", use: plan.use };
  if (plan.orUse && facts.preparesImages === false) return { kind: "use", use: plan.orUse };
  if (entry.available && !facts.again) return { kind: "keep" };
  if (!facts.reachable) return { kind: "unavailable" };
  if (entry.taskRef) {
    if (!facts.task) return { kind: "followTask", taskId: entry.taskRef };
    return facts.task.error
      ? { kind: "taskFailed", error: facts.task.error }
      : { kind: "prepared" };
  }
  return { kind: "prepare", source: plan.prepare, orUse: plan.orUse };
}

/** The image's phase and Ready reason, from its providers' entries. */
export function summarizeImage(
  entries: Readonly<Record<string, ProviderImageStatus>>,
  preparing: boolean,
  failed: string,
): { ready: boolean; phase: ImagePhase; reason: string } {
  const ready = Object.values(entries).some((s) => s.available);
  if (ready) return { ready, phase: ImagePhase.READY, reason: "Available" };
  if (preparing) return { ready, phase: ImagePhase.DOWNLOADING, reason: "Preparing" };
  if (failed) return { ready, phase: ImagePhase.FAILED, reason: "PrepareFailed" };
  return { ready, phase: ImagePhase.PENDING, reason: "Pending" };
}
