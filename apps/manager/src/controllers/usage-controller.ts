import { clone, create } from "@bufbuild/protobuf";
import {
  type Condition,
  Kind,
  type Provider as ProviderResource,
  type VMClass,
  VMClassStatusSchema,
  type VMNetworkAttachment,
  VMNetworkAttachmentStatusSchema,
  NetworkAttachmentPhase,
  ProviderType,
  Firmware,
} from "@virtrigaud/proto/manager";
import { setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import { vmsReferring } from "./references.js";
import { nicFor } from "./resolve-vm.js";
import { providerFirmware } from "./vocabulary.js";
import type { ReconcileResult } from "./work-queue.js";

/** Sets Validated and Ready: apply already checked the resource, and it needs nothing else. */
function markReady(conditions: Condition[], generation: bigint, now: number): void {
  setCondition(conditions, { type: "Validated", status: true, reason: "Valid" }, generation, now);
  setCondition(conditions, { type: "Ready", status: true, reason: "Ready" }, generation, now);
}

/**
 * Status of VMClasses and VMNetworkAttachments: validated (apply checked
 * them), which providers in the namespace can use them, and how many VMs do.
 * Keys are "Kind/namespace/name", since one queue serves both kinds.
 */
export function createUsageController(ctx: ControllerContext) {
  const { store } = ctx;

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const slash = key.indexOf("/");
    const kind = Number(key.slice(0, slash)) as Kind;
    const { namespace: ns, name } = splitKey(key.slice(slash + 1));
    const now = ctx.now();
    const providers = store.list(Kind.PROVIDER, ns) as ProviderResource[];
    if (kind === Kind.VM_CLASS) {
      const vmClass = store.get(kind, ns, name) as VMClass | undefined;
      const meta = vmClass?.metadata;
      if (!vmClass || !meta) return Promise.resolve();
      const status = vmClass.status
        ? clone(VMClassStatusSchema, vmClass.status)
        : create(VMClassStatusSchema);
      status.usedByVms = vmsReferring(store, kind, ns, name).length;
      const firmware = vmClass.spec?.firmware ?? Firmware.UNSPECIFIED;
      const want = providerFirmware(firmware) || undefined;
      status.supportedProviders = providers
        .filter((p) => {
          const caps = p.status?.details;
          return !want || !caps || caps.firmwareTypes.includes(want);
        })
        .map((p) => p.metadata?.name ?? "");
      status.observedGeneration = meta.generation;
      markReady(status.conditions, meta.generation, now);
      await store.update<VMClass>(kind, ns, name, (copy) => {
        copy.status = status;
      });
      return Promise.resolve();
    }
    if (kind === Kind.VM_NETWORK_ATTACHMENT) {
      const attachment = store.get(kind, ns, name) as VMNetworkAttachment | undefined;
      const meta = attachment?.metadata;
      if (!attachment || !meta) return Promise.resolve();
      const status = attachment.status
        ? clone(VMNetworkAttachmentStatusSchema, attachment.status)
        : create(VMNetworkAttachmentStatusSchema);
      status.connectedVms = vmsReferring(store, kind, ns, name).length;
      status.availableOn = providers
        .filter((p) => nicFor(attachment, p.spec?.type ?? ProviderType.UNSPECIFIED))
        .map((p) => p.metadata?.name ?? "");
      status.ready = true;
      status.phase = NetworkAttachmentPhase.READY;
      status.observedGeneration = meta.generation;
      markReady(status.conditions, meta.generation, now);
      await store.update<VMNetworkAttachment>(kind, ns, name, (copy) => {
        copy.status = status;
      });
    }
    return Promise.resolve();
  }

  return { reconcile };
}
