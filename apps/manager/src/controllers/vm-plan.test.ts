import { type MessageInitShape, clone, create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import {
  ErrorReason,
  IpSource,
  PowerOperation,
  ProviderError,
  PowerState as ProviderPowerState,
  type VirtualMachine as ProviderVm,
  VirtualMachineSchema as ProviderVmSchema,
} from "@virtrigaud/contracts";
import {
  CircuitState,
  ConditionStatus,
  type Condition,
  PowerState,
  ProviderPhase,
  ProviderSchema,
  SnapshotPhase,
  VMClassSchema,
  VMSnapshotSchema,
  type VirtualMachine,
  VirtualMachinePhase,
  VirtualMachineSchema,
  type VirtualMachineStatus,
  VirtualMachineStatusSchema,
} from "@virtrigaud/proto/manager";
import { vmFinalizer } from "../api/manager-service.js";
import { adoptOwnerAnnotation } from "./ownership.js";
import {
  type VmDeleteFacts,
  type VmFacts,
  type VmPlan,
  forceDeleteAnnotation,
  planDeleteFound,
  planReconfigured,
  planVm,
  planVmDelete,
  rebootAnnotation,
} from "./vm-plan.js";

const now = 1_700_000_000_000;
const generation = 3n;
const providerKey = "default/p";

type VmInit = MessageInitShape<typeof VirtualMachineSchema>;
type SpecInit = NonNullable<VmInit["spec"]>;
type StatusInit = MessageInitShape<typeof VirtualMachineStatusSchema>;

/** The resource: web (uid "mine") on provider p, class small, running, at generation 3. */
function vmOf(
  spec: SpecInit = {},
  annotations: Record<string, string> = {},
  extra: { deleting?: boolean; finalizers?: string[] } = {},
): VirtualMachine {
  return create(VirtualMachineSchema, {
    metadata: {
      name: "web",
      namespace: "default",
      uid: "mine",
      generation,
      annotations,
      finalizers: extra.finalizers ?? [vmFinalizer],
      ...(extra.deleting ? { deletionTimestamp: { seconds: 1n } } : {}),
    },
    spec: {
      providerRef: { name: "p", namespace: "" },
      classRef: { name: "small", namespace: "" },
      ...spec,
    } as SpecInit,
  });
}

/** What the provider reports: vm-1, on, 2 CPUs and 2 GiB, a NIC with an address, labelled as ours. */
function reported(
  fields: { power?: ProviderPowerState; cpu?: number; labels?: Record<string, string> } = {},
): ProviderVm {
  return create(ProviderVmSchema, {
    id: "vm-1",
    name: "web",
    powerState: fields.power ?? ProviderPowerState.ON,
    resources: {
      cpu: fields.cpu ?? 2,
      memoryMib: 2048,
      disks: [{ name: "data", sizeGib: 10 }],
      networkInterfaces: [{ network: "default" }],
    },
    ipAddresses: [{ address: "10.0.0.5", source: IpSource.GUEST_AGENT }],
    labels: fields.labels ?? { "virtrigaud.io/uid": "mine" },
  });
}

/** A VM made and observed before: status vm-1, running, as its class asks. */
function statusOf(init: StatusInit = {}): VirtualMachineStatus {
  return create(VirtualMachineStatusSchema, {
    id: "vm-1",
    phase: VirtualMachinePhase.RUNNING,
    powerState: PowerState.ON,
    observedGeneration: generation,
    boundProvider: { name: "p", namespace: "default", uid: "pu" },
    providerName: "web",
    currentResources: { cpu: 2, memoryMib: 2048 },
    disks: [{ name: "data", sizeGib: 10 }],
    ...init,
  } as StatusInit);
}

const provider = create(ProviderSchema, {
  metadata: { name: "p", namespace: "default", uid: "pu" },
  status: { phase: ProviderPhase.READY },
});
const notShared = { field: "spec.provider_ref", message: "Provider team-b/p is not shared" };
/** Provider p, annotated as moved to the endpoint it has now. */
const movedProvider = create(ProviderSchema, {
  metadata: {
    name: "p",
    namespace: "default",
    uid: "pu",
    annotations: { "virtrigaud.io/provider-moved": "true" },
  },
  status: { phase: ProviderPhase.READY },
});
const vmClass = create(VMClassSchema, {
  metadata: { name: "small", namespace: "default" },
  spec: { cpu: 2, memoryMib: 2048 },
});

function factsOf(overrides: Partial<VmFacts> = {}): VmFacts {
  return {
    vm: vmOf(),
    status: statusOf(),
    now,
    providerKey,
    provider,
    connection: { circuit: CircuitState.CLOSED, lastError: "" },
    task: undefined,
    create: { request: { name: "web", labels: { "virtrigaud.io/uid": "mine" } } },
    vmClass,
    snapshot: undefined,
    described: reported(),
    claimantOf: () => undefined,
    boundElsewhere: () => undefined,
    notShared: undefined,
    ...overrides,
  };
}

const condition = (plan: { status: VirtualMachineStatus }, type = "Ready"): Condition | undefined =>
  plan.status.conditions.find((c) => c.type === type);
const reasons = (plan: VmPlan) => plan.events.map((e) => e.reason);
const failed = new ProviderError(ErrorReason.INTERNAL, "boom");
/** VMSnapshot "before" of web (vm-1), ready to revert to. */
const readySnapshot = create(VMSnapshotSchema, {
  metadata: { name: "before", namespace: "default" },
  spec: { vmRef: { name: "web" } },
  status: { phase: SnapshotPhase.READY, snapshotId: "s1", vmId: "vm-1" },
});

describe("planVm", () => {
  it.each<[string, Partial<VmFacts>, (plan: VmPlan) => void]>([
    // Where the VM is: its provider.
    [
      "a VM being deleted goes to the delete plan",
      { vm: vmOf({}, {}, { deleting: true }) },
      (p) => {
        expect(p.step).toEqual({ kind: "delete" });
      },
    ],
    [
      "no Provider: Pending, ProviderNotFound",
      { provider: undefined },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "ProviderNotFound" });
        expect(p.status.phase).toBe(VirtualMachinePhase.PENDING);
        expect(condition(p)?.message).toBe("Provider default/p does not exist");
      },
    ],
    [
      "an open circuit: ProviderUnavailable with the connection's last error",
      {
        connection: { circuit: CircuitState.OPEN, lastError: "refused" },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "ProviderUnavailable" });
        expect(condition(p)).toMatchObject({
          status: ConditionStatus.FALSE,
          message: "provider default/p is unavailable: refused",
        });
      },
    ],
    [
      "no connection yet: ProviderUnavailable",
      { connection: undefined },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "ProviderUnavailable" });
      },
    ],
    [
      "a Provider that is not Ready: ProviderUnavailable",
      {
        provider: create(ProviderSchema, {
          metadata: { name: "p" },
          status: { phase: ProviderPhase.PENDING },
        }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "ProviderUnavailable" });
      },
    ],

    // Tasks.
    [
      "a task that runs is followed, nothing else",
      {
        status: statusOf({ lastTaskRef: "t1", lastTaskOperation: "power" }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "followTask", taskId: "t1" });
      },
    ],
    [
      "a create task that failed: refused as Create, and created again by name",
      {
        status: statusOf({ lastTaskRef: "t1", lastTaskOperation: "create" }),
        task: { error: failed },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "taskFailed", verb: "Create", error: failed });
        expect(p.status).toMatchObject({ id: "", lastTaskRef: "", lastTaskOperation: "" });
      },
    ],
    [
      "a reconfigure task that failed forgets what it asked",
      {
        status: statusOf({
          lastTaskRef: "t1",
          lastTaskOperation: "reconfigure",
          requestedResources: { cpu: 4, memoryMib: 2048 },
        }),
        task: { error: failed },
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "taskFailed", verb: "Reconfigure" });
        expect(p.status.requestedResources).toBeUndefined();
      },
    ],
    [
      "a revert task that failed forgets the revert, to do it again",
      {
        status: statusOf({
          lastTaskRef: "t1",
          lastTaskOperation: "revert",
          revertedTo: "before",
          revertedGeneration: generation,
        }),
        task: { error: failed },
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "taskFailed", verb: "Revert" });
        expect(p.status).toMatchObject({ revertedTo: "", revertedGeneration: 0n });
      },
    ],
    [
      "a shutdown task that failed is asked again",
      {
        status: statusOf({
          lastTaskRef: "t1",
          lastTaskOperation: "power",
          gracefulShutdownGeneration: generation,
        }),
        task: { error: failed },
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "taskFailed", verb: "Power" });
        expect(p.status.gracefulShutdownGeneration).toBe(0n);
      },
    ],
    [
      "a reboot task that failed is asked again",
      {
        status: statusOf({ lastTaskRef: "t1", lastTaskOperation: "reboot", rebootRequest: "r1" }),
        task: { error: failed },
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "taskFailed", verb: "Reboot" });
        expect(p.status.rebootRequest).toBe("");
      },
    ],
    [
      "a task that succeeded is cleared, and the VM described",
      {
        status: statusOf({ lastTaskRef: "t1", lastTaskOperation: "power" }),
        task: { error: undefined },
        described: undefined,
      },
      (p) => {
        expect(p.step).toEqual({ kind: "describe" });
        expect(p.status.lastTaskRef).toBe("");
      },
    ],

    // Create.
    [
      "no VM and a class that is missing: Pending with the reason",
      {
        status: statusOf({ id: "" }),
        described: undefined,
        create: {
          unresolved: { reason: "ClassNotFound", message: "VMClass small does not exist" },
        },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "ClassNotFound" });
        expect(p.status.phase).toBe(VirtualMachinePhase.PENDING);
        expect(condition(p)?.reason).toBe("ClassNotFound");
      },
    ],
    [
      "no VM and its cloud-init's Secret missing: Pending, the reason, and a Warning event",
      {
        status: statusOf({ id: "" }),
        described: undefined,
        create: {
          unresolved: {
            reason: "SecretNotFound",
            message: "Secret boot, named by the user data secretRef, does not exist",
          },
        },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "SecretNotFound" });
        expect(p.status.phase).toBe(VirtualMachinePhase.PENDING);
        expect(condition(p)?.reason).toBe("SecretNotFound");
        expect(p.events).toEqual([
          {
            type: "Warning",
            reason: "SecretNotFound",
            message: "Secret boot, named by the user data secretRef, does not exist",
          },
        ]);
      },
    ],
    [
      "no VM: the intent is written, then Create, powered on",
      {
        status: create(VirtualMachineStatusSchema),
        described: undefined,
        vm: vmOf({}, { [rebootAnnotation]: "r0" }),
      },
      (p) => {
        expect(p.step).toEqual({
          kind: "create",
          request: { name: "web", labels: { "virtrigaud.io/uid": "mine" }, powerOn: true },
        });
        expect(p.status.boundProvider).toMatchObject({
          namespace: "default",
          name: "p",
          uid: "pu",
        });
        expect(p.status.providerName).toBe("web");
        expect(p.status.phase).toBe(VirtualMachinePhase.PROVISIONING);
        // A reboot asked before the VM existed is done: it boots fresh.
        expect(p.status.rebootRequest).toBe("r0");
        expect(condition(p)?.reason).toBe("Creating");
      },
    ],
    [
      "no VM, declared Off: created powered off",
      {
        status: create(VirtualMachineStatusSchema),
        described: undefined,
        vm: vmOf({ powerState: PowerState.OFF }),
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "create", request: { powerOn: false } });
      },
    ],
    [
      "a VM made: described first",
      { described: undefined },
      (p) => {
        expect(p.step).toEqual({ kind: "describe" });
      },
    ],
    [
      "the VM is gone from the provider: made again",
      { described: null },
      (p) => {
        expect(p.step).toEqual({ kind: "missing" });
        expect(p.status).toMatchObject({ id: "", phase: VirtualMachinePhase.PENDING });
        expect(p.events).toEqual([
          {
            type: "Warning",
            reason: "VMMissing",
            message: "vm-1 is gone from default/p; creating it again",
          },
        ]);
      },
    ],
    [
      "a reference into a namespace that does not share: nothing made, a condition and an event",
      { status: statusOf({ id: "" }), described: undefined, notShared },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "ReferenceNotShared" });
        expect(p.status.phase).toBe(VirtualMachinePhase.PENDING);
        expect(condition(p)).toMatchObject({
          status: ConditionStatus.FALSE,
          reason: "ReferenceNotShared",
          message: "spec.provider_ref: Provider team-b/p is not shared",
        });
        expect(reasons(p)).toEqual(["ReferenceNotShared"]);
      },
    ],
    [
      "a made VM whose reference is no longer shared: left alone, said once",
      {
        status: statusOf({
          conditions: [
            {
              type: "Ready",
              status: ConditionStatus.FALSE,
              reason: "ReferenceNotShared",
              message: "spec.provider_ref: Provider team-b/p is not shared",
            },
          ],
        }),
        notShared,
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "ReferenceNotShared" });
        expect(p.status).toMatchObject({ id: "vm-1", phase: VirtualMachinePhase.RUNNING });
        expect(p.events).toEqual([]);
      },
    ],
    [
      "the VM is not at its moved provider: not made again, a condition and an event say why",
      { provider: movedProvider, described: null },
      (p) => {
        expect(p.step.kind).toBe("lostAtMovedProvider");
        expect(p.status).toMatchObject({ id: "vm-1", phase: VirtualMachinePhase.FAILED });
        expect(condition(p)).toMatchObject({
          status: ConditionStatus.FALSE,
          reason: "NotFoundAtProvider",
        });
        expect(condition(p)?.message).toMatch(
          /^vm-1 is not at default\/p, which moved \(virtrigaud\.io\/provider-moved=true\): .* annotate the VirtualMachine virtrigaud\.io\/recreate=true/,
        );
        expect(p.step).toMatchObject({
          event: { type: "Warning", reason: "NotFoundAtProvider" },
        });
      },
    ],
    [
      "the VM is not at its moved provider and the VM asks: made again",
      {
        provider: movedProvider,
        vm: vmOf({}, { "virtrigaud.io/recreate": "true" }),
        described: null,
      },
      (p) => {
        expect(p.step).toEqual({ kind: "missing" });
        expect(p.status.id).toBe("");
        expect(reasons(p)).toEqual(["VMMissing"]);
      },
    ],
    [
      "the VM is at its moved provider: it carries on",
      { provider: movedProvider },
      (p) => {
        expect(p.step.kind).toBe("settle");
        expect(condition(p)?.reason).toBe("Ready");
      },
    ],
    [
      "a VM not made yet is made at a moved provider (a first Create is no re-creation)",
      { provider: movedProvider, status: statusOf({ id: "" }), described: undefined },
      (p) => {
        expect(p.step.kind).toBe("create");
      },
    ],

    // Whose VM it is.
    [
      "another manager's VM is never adopted",
      {
        status: statusOf({ observedGeneration: 0n, phase: VirtualMachinePhase.PROVISIONING }),
        described: reported({ labels: { "virtrigaud.io/uid": "theirs" } }),
      },
      (p) => {
        expect(p.step).toMatchObject({
          kind: "foreign",
          event: { type: "Warning", reason: "OwnedByAnotherManager" },
        });
        expect(p.status).toMatchObject({ id: "", phase: VirtualMachinePhase.FAILED });
        expect(p.status.message).toContain(`annotate ${adoptOwnerAnnotation}=theirs`);
        expect(p.status.adoptedOwnerUid).toBe("");
      },
    ],
    [
      "a VM of another VirtualMachine of this manager: NameConflict",
      {
        described: reported({ labels: { "virtrigaud.io/uid": "theirs" } }),
        claimantOf: (uid) => (uid === "theirs" ? "default/other" : undefined),
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "foreign", event: { reason: "NameConflict" } });
        expect(p.status.message).toContain("VirtualMachine default/other (uid theirs)");
      },
    ],
    [
      "another's VM, with the annotation naming its uid: taken over",
      {
        vm: vmOf({}, { [adoptOwnerAnnotation]: "theirs" }),
        described: reported({ labels: { "virtrigaud.io/uid": "theirs" } }),
      },
      (p) => {
        expect(p.status.adoptedOwnerUid).toBe("theirs");
        expect(reasons(p)).toEqual(["Adopted"]);
        expect(p.step.kind).toBe("settle");
      },
    ],
    [
      "a VM made outside VirtRigaud is adopted, once",
      {
        status: statusOf({ observedGeneration: 0n }),
        described: reported({ labels: {} }),
      },
      (p) => {
        expect(reasons(p)).toEqual(["Adopted"]);
        expect(p.step.kind).toBe("settle");
      },
    ],
    [
      "an unlabelled VM another VirtualMachine is bound to: NameConflict",
      {
        described: reported({ labels: {} }),
        boundElsewhere: (id) => (id === "vm-1" ? "default/first" : undefined),
      },
      (p) => {
        expect(p.step).toEqual({
          kind: "nameConflict",
          event: {
            type: "Warning",
            reason: "NameConflict",
            message: "web belongs to default/first",
          },
        });
        expect(p.status).toMatchObject({ id: "", phase: VirtualMachinePhase.FAILED });
      },
    ],
    [
      "a clone's target is not reported as adopted",
      {
        vm: vmOf({}, { "virtrigaud.io/clone": "clone-uid" }),
        status: statusOf({ observedGeneration: 0n }),
        described: reported({ labels: {} }),
      },
      (p) => {
        expect(reasons(p)).toEqual([]);
      },
    ],
    [
      "a VM just made is reported Created, with what the provider reports",
      {
        status: statusOf({
          observedGeneration: 0n,
          phase: VirtualMachinePhase.PROVISIONING,
          ips: [],
        }),
      },
      (p) => {
        expect(reasons(p)).toEqual(["Created"]);
        expect(p.status.ips).toEqual(["10.0.0.5"]);
        expect(p.status.consoleUrl).toBe("");
      },
    ],

    // Revert.
    [
      "a revert to a snapshot that is not ready waits for it",
      {
        vm: vmOf({ snapshot: { revertToRef: { name: "before" } } }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "SnapshotNotReady" });
        expect(condition(p)?.message).toBe("VMSnapshot before is not ready to revert to");
      },
    ],
    [
      "a revert to another VM's snapshot is refused, once for that name",
      {
        vm: vmOf({ snapshot: { revertToRef: { name: "before" } } }),
        snapshot: create(VMSnapshotSchema, {
          spec: { vmRef: { name: "other" } },
          status: { phase: SnapshotPhase.READY, snapshotId: "s1", vmId: "vm-9" },
        }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait", reason: "InvalidSnapshot" });
        expect(p.status).toMatchObject({ revertedTo: "before", revertedGeneration: generation });
      },
    ],
    [
      "a revert to a ready snapshot of this VM",
      {
        vm: vmOf({ snapshot: { revertToRef: { name: "before" } } }),
        snapshot: create(VMSnapshotSchema, {
          spec: { vmRef: { name: "web" } },
          status: { phase: SnapshotPhase.READY, snapshotId: "s1", vmId: "vm-1" },
        }),
      },
      (p) => {
        expect(p.step).toMatchObject({
          kind: "revert",
          request: { vmId: "vm-1", snapshotId: "s1" },
          snapshot: "before",
          event: { reason: "Reverting" },
        });
      },
    ],
    [
      "a revert done at this generation is not done again",
      {
        vm: vmOf({ snapshot: { revertToRef: { name: "before" } } }),
        status: statusOf({ revertedTo: "before", revertedGeneration: generation }),
        snapshot: readySnapshot,
      },
      (p) => {
        expect(p.step.kind).toBe("settle");
      },
    ],
    [
      "a revert done at an earlier generation is not done again (the spec changed since)",
      {
        vm: vmOf({ snapshot: { revertToRef: { name: "before" } } }),
        status: statusOf({ revertedTo: "before", revertedGeneration: generation - 1n }),
        snapshot: readySnapshot,
      },
      (p) => {
        expect(p.step.kind).toBe("settle");
        expect(p.status).toMatchObject({ revertedTo: "before", revertedGeneration: 2n });
      },
    ],
    [
      "a spec that names no snapshot forgets the last revert",
      {
        status: statusOf({ revertedTo: "before", revertedGeneration: 2n }),
      },
      (p) => {
        expect(p.step.kind).toBe("settle");
        expect(p.status).toMatchObject({ revertedTo: "", revertedGeneration: 0n });
      },
    ],

    // Reconfigure.
    [
      "more CPU than the provider reports: reconfigured now",
      {
        vm: vmOf({ resources: { cpu: 4, memoryMib: 0 } }),
      },
      (p) => {
        expect(p.step).toEqual({
          kind: "reconfigure",
          request: { vmId: "vm-1", cpu: 4, disks: [] },
          requested: { cpu: 4, memoryMib: 2048, disks: [] },
          event: {
            type: "Normal",
            reason: "Reconfiguring",
            message: "cpu 2→4, memory 2048→2048 MiB",
          },
        });
        expect(p.status.phase).toBe(VirtualMachinePhase.RECONFIGURING);
      },
    ],
    [
      "a disk that grows is reconfigured",
      {
        vm: vmOf({ disks: [{ name: "data", sizeGib: 20 }] }),
      },
      (p) => {
        expect(p.step).toMatchObject({
          kind: "reconfigure",
          request: { vmId: "vm-1", disks: [{ name: "data", sizeGib: 20 }] },
        });
      },
    ],
    [
      "a disk never shrinks: a condition says so, nothing is asked",
      {
        vm: vmOf({ disks: [{ name: "data", sizeGib: 5 }] }),
      },
      (p) => {
        expect(condition(p, "DiskShrinkRefused")).toMatchObject({
          status: ConditionStatus.TRUE,
          message: "disk data is 10 GiB and cannot shrink to 5",
        });
        expect(p.step.kind).toBe("settle");
      },
    ],
    [
      "a change asked already (applied at the next restart) is not asked again",
      {
        vm: vmOf({ resources: { cpu: 4, memoryMib: 0 } }),
        status: statusOf({ requestedResources: { cpu: 4, memoryMib: 2048 } }),
      },
      (p) => {
        expect(p.step.kind).toBe("settle");
      },
    ],
    [
      "the declared resources reached after a restart: RestartRequired goes",
      {
        status: statusOf({
          requestedResources: { cpu: 2, memoryMib: 2048 },
          conditions: [
            { type: "RestartRequired", status: ConditionStatus.TRUE, reason: "PowerCycleRequired" },
          ],
        }),
      },
      (p) => {
        expect(condition(p, "RestartRequired")).toMatchObject({
          status: ConditionStatus.FALSE,
          reason: "Applied",
        });
        expect(p.status.requestedResources).toBeUndefined();
        expect(reasons(p)).toEqual(["Reconfigured"]);
      },
    ],
    [
      "no class: nothing to reconfigure",
      {
        vm: vmOf({ resources: { cpu: 4, memoryMib: 0 } }),
        vmClass: undefined,
      },
      (p) => {
        expect(p.step.kind).toBe("settle");
      },
    ],

    // Reboot.
    [
      "a new reboot annotation on a running VM: rebooted",
      {
        vm: vmOf({}, { [rebootAnnotation]: "r1" }),
      },
      (p) => {
        expect(p.step).toEqual({
          kind: "reboot",
          request: { vmId: "vm-1", operation: PowerOperation.REBOOT },
          event: {
            type: "Normal",
            reason: "Rebooting",
            message: `rebooting, as ${rebootAnnotation}="r1" asks`,
          },
        });
        expect(p.status.rebootRequest).toBe("r1");
      },
    ],
    [
      "a reboot acted on already is not done again",
      {
        vm: vmOf({}, { [rebootAnnotation]: "r1" }),
        status: statusOf({ rebootRequest: "r1" }),
      },
      (p) => {
        expect(p.step.kind).toBe("settle");
      },
    ],
    [
      "a reboot of a VM that is off is skipped, and its power corrected",
      {
        vm: vmOf({}, { [rebootAnnotation]: "r1" }),
        described: reported({ power: ProviderPowerState.OFF }),
      },
      (p) => {
        expect(reasons(p)).toEqual(["RebootSkipped"]);
        expect(p.status.rebootRequest).toBe("r1");
        expect(p.step).toMatchObject({ kind: "power", request: { operation: PowerOperation.ON } });
      },
    ],

    // Power.
    [
      "declared On, found Off: powered on",
      {
        described: reported({ power: ProviderPowerState.OFF }),
      },
      (p) => {
        expect(p.step).toEqual({
          kind: "power",
          request: { vmId: "vm-1", operation: PowerOperation.ON },
          graceful: false,
          event: { type: "Normal", reason: "PowerOn", message: "power OFF → ON" },
        });
      },
    ],
    [
      "declared Off, found On: powered off at once",
      {
        vm: vmOf({ powerState: PowerState.OFF }),
      },
      (p) => {
        expect(p.step).toMatchObject({
          kind: "power",
          request: { operation: PowerOperation.OFF },
          event: { reason: "PowerOff" },
        });
      },
    ],
    [
      "declared Off, found suspended: powered off",
      {
        vm: vmOf({ powerState: PowerState.OFF }),
        described: reported({ power: ProviderPowerState.SUSPENDED }),
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "power", request: { operation: PowerOperation.OFF } });
      },
    ],
    [
      "declared OffGraceful, found On: a shutdown with the default 60 s",
      {
        vm: vmOf({ powerState: PowerState.OFF_GRACEFUL }),
      },
      (p) => {
        expect(p.step).toMatchObject({
          kind: "power",
          request: { operation: PowerOperation.SHUTDOWN, gracefulTimeoutSeconds: 60 },
          graceful: true,
          event: { reason: "Shutdown" },
        });
      },
    ],
    [
      "a shutdown takes the declared timeout",
      {
        vm: vmOf({
          powerState: PowerState.OFF_GRACEFUL,
          lifecycle: { gracefulShutdownTimeout: "2m" },
        }),
      },
      (p) => {
        expect(p.step).toMatchObject({ request: { gracefulTimeoutSeconds: 120 } });
      },
    ],
    [
      "a shutdown is asked once per generation: a guest that ignores it is left on, and Ready",
      {
        vm: vmOf({ powerState: PowerState.OFF_GRACEFUL }),
        status: statusOf({ gracefulShutdownGeneration: generation }),
      },
      (p) => {
        expect(p.step.kind).toBe("settle");
        expect(condition(p)?.status).toBe(ConditionStatus.TRUE);
      },
    ],

    // Ready.
    [
      "running as declared: Ready, Running, observed at this generation",
      {
        status: statusOf({ observedGeneration: 1n }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "settle", recheckAfterMs: undefined });
        expect(p.status).toMatchObject({
          phase: VirtualMachinePhase.RUNNING,
          observedGeneration: generation,
        });
        expect(condition(p)).toMatchObject({ status: ConditionStatus.TRUE, reason: "Ready" });
        expect(condition(p, "AddressAssigned")?.status).toBe(ConditionStatus.TRUE);
      },
    ],
    [
      "off as declared: Ready, Stopped, no address condition",
      {
        vm: vmOf({ powerState: PowerState.OFF }),
        described: reported({ power: ProviderPowerState.OFF }),
      },
      (p) => {
        expect(p.step.kind).toBe("settle");
        expect(p.status.phase).toBe(VirtualMachinePhase.STOPPED);
        expect(condition(p)?.status).toBe(ConditionStatus.TRUE);
        expect(condition(p, "AddressAssigned")).toBeUndefined();
      },
    ],
    [
      "a power state no operation reaches: PowerStateDiffers",
      {
        vm: vmOf({ powerState: PowerState.SUSPENDED }),
      },
      (p) => {
        expect(condition(p)).toMatchObject({
          status: ConditionStatus.FALSE,
          reason: "PowerStateDiffers",
          message: "power is ON",
        });
      },
    ],
    [
      "an address required for Ready and none yet: not Ready, looked at again soon",
      {
        vm: vmOf({ addressPolicy: { requiredForReady: true, timeout: "5m", sources: [] } }),
        described: create(ProviderVmSchema, { ...reported(), ipAddresses: [] }),
      },
      (p) => {
        expect(condition(p)).toMatchObject({
          status: ConditionStatus.FALSE,
          reason: "WaitingForAddress",
        });
        expect(p.step).toMatchObject({ kind: "settle", recheckAfterMs: 1000 });
      },
    ],
  ])("%s", (_name, overrides, check) => {
    const facts = factsOf(overrides);
    const before = JSON.stringify(facts.status, (_k, v: unknown) =>
      typeof v === "bigint" ? String(v) : v,
    );
    check(planVm(facts));
    // Pure: what it was given is unchanged.
    expect(
      JSON.stringify(facts.status, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)),
    ).toBe(before);
  });
});

describe("planVm on the reconcile's own copy", () => {
  it("changes an owned status in place, and copies one it does not own", () => {
    const status = statusOf();
    const copied = planVm(factsOf({ status }));
    expect(copied.status).not.toBe(status);
    // The plan changed its copy (a Ready condition, at least), not what it was given.
    expect(copied.status).not.toEqual(status);

    const owned = planVm(factsOf({ status, ownStatus: true }));
    expect(owned.status).toBe(status);
    expect(owned.step).toEqual(copied.step);
    expect(status).toEqual(copied.status);
  });
});

describe("planVm reverts once per request", () => {
  const asking = (name: string | undefined, gen: bigint) => {
    const vm = vmOf(name ? { snapshot: { revertToRef: { name } } } : {});
    if (vm.metadata) vm.metadata.generation = gen;
    return vm;
  };
  /** Plans `vm` from `status`; a revert step is carried out as the controller does, task done. */
  const reconcile = (vm: VirtualMachine, status: VirtualMachineStatus) => {
    const p = planVm(factsOf({ vm, status, snapshot: readySnapshot }));
    if (p.step.kind === "revert") {
      p.status.revertedTo = p.step.snapshot;
      p.status.revertedGeneration = vm.metadata?.generation ?? 0n;
    }
    return p;
  };

  it("reverts once, and not again when the spec changes otherwise (power off)", () => {
    const first = reconcile(asking("before", 3n), statusOf());
    expect(first.step).toMatchObject({ kind: "revert", snapshot: "before" });
    const again = reconcile(asking("before", 3n), first.status);
    expect(again.step.kind).toBe("settle");
    const poweredOff = asking("before", 4n);
    if (poweredOff.spec) poweredOff.spec.powerState = PowerState.OFF;
    const off = reconcile(poweredOff, again.status);
    expect(off.step).toMatchObject({ kind: "power" });
    expect(off.status).toMatchObject({ revertedTo: "before", revertedGeneration: 3n });
  });

  it("reverts when the spec names another snapshot", () => {
    const done = statusOf({ revertedTo: "before", revertedGeneration: 3n });
    const other = clone(VMSnapshotSchema, readySnapshot);
    if (other.metadata) other.metadata.name = "after";
    const p = planVm(factsOf({ vm: asking("after", 4n), status: done, snapshot: other }));
    expect(p.step).toMatchObject({ kind: "revert", snapshot: "after" });
  });

  it("reverts to the same snapshot again once the spec has named none in between", () => {
    const done = statusOf({ revertedTo: "before", revertedGeneration: 3n });
    const cleared = reconcile(asking(undefined, 4n), done);
    expect(cleared.status).toMatchObject({ revertedTo: "", revertedGeneration: 0n });
    const again = reconcile(asking("before", 5n), cleared.status);
    expect(again.step).toMatchObject({ kind: "revert", snapshot: "before" });
    expect(again.status).toMatchObject({ revertedTo: "before", revertedGeneration: 5n });
  });

  it("tries a failed revert again, at the same generation", () => {
    const started = reconcile(asking("before", 3n), statusOf());
    started.status.lastTaskRef = "t1";
    started.status.lastTaskOperation = "revert";
    const failedTask = planVm(
      factsOf({ vm: asking("before", 3n), status: started.status, task: { error: failed } }),
    );
    expect(failedTask.step.kind).toBe("taskFailed");
    const retried = reconcile(asking("before", 3n), failedTask.status);
    expect(retried.step).toMatchObject({ kind: "revert", snapshot: "before" });
  });
});

describe("planReconfigured", () => {
  it("says when the provider applies the change only at the next power cycle", () => {
    const status = statusOf();
    expect(planReconfigured(status, true, generation, now).map((e) => e.reason)).toEqual([
      "RestartRequired",
    ]);
    expect(condition({ status }, "RestartRequired")).toMatchObject({
      status: ConditionStatus.TRUE,
      reason: "PowerCycleRequired",
    });
  });

  it("says nothing when the change applies now", () => {
    const status = statusOf();
    expect(planReconfigured(status, false, generation, now)).toEqual([]);
    expect(condition({ status }, "RestartRequired")).toBeUndefined();
  });
});

describe("planVmDelete", () => {
  const deleting = (annotations: Record<string, string> = {}, finalizers = [vmFinalizer]) =>
    vmOf({}, annotations, { deleting: true, finalizers });
  const deleteFacts = (overrides: Partial<VmDeleteFacts> = {}): VmDeleteFacts => ({
    vm: deleting(),
    status: statusOf(),
    now,
    providerKey,
    reachable: true,
    task: undefined,
    ...overrides,
  });

  it.each<[string, Partial<VmDeleteFacts>, (plan: ReturnType<typeof planVmDelete>) => void]>([
    [
      "without the finalizer: nothing",
      { vm: deleting({}, []) },
      (p) => {
        expect(p.step).toEqual({ kind: "none" });
      },
    ],
    [
      "forced: let go at once, the VM deleted best effort",
      { vm: deleting({ [forceDeleteAnnotation]: "true" }) },
      (p) => {
        expect(p.step).toMatchObject({
          kind: "forceRelease",
          deleteVmId: "vm-1",
          event: { reason: "ForceDeleted" },
        });
      },
    ],
    [
      "forced, the provider away: let go, the VM left",
      {
        vm: deleting({ [forceDeleteAnnotation]: "true" }),
        reachable: false,
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "forceRelease", deleteVmId: "" });
      },
    ],
    [
      "never created: let go",
      { status: create(VirtualMachineStatusSchema) },
      (p) => {
        expect(p.events.map((e) => e.reason)).toEqual(["Deleting"]);
        expect(p.step).toMatchObject({
          kind: "release",
          event: { message: "the VM was never created" },
        });
      },
    ],
    [
      "the provider away: DeleteBlocked",
      { reachable: false },
      (p) => {
        expect(p.step).toEqual({ kind: "wait" });
        expect(p.status.phase).toBe(VirtualMachinePhase.DELETING);
        expect(condition(p)?.reason).toBe("DeleteBlocked");
      },
    ],
    [
      "a delete task that runs is followed",
      {
        status: statusOf({
          phase: VirtualMachinePhase.DELETING,
          lastTaskRef: "t1",
          lastTaskOperation: "delete",
        }),
      },
      (p) => {
        expect(p.events).toEqual([]);
        expect(p.step).toEqual({ kind: "followTask", taskId: "t1" });
      },
    ],
    [
      "a delete task that failed is refused",
      {
        status: statusOf({
          phase: VirtualMachinePhase.DELETING,
          lastTaskRef: "t1",
          lastTaskOperation: "delete",
        }),
        task: { error: failed },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "taskFailed", error: failed });
        expect(p.status.lastTaskRef).toBe("");
      },
    ],
    [
      "otherwise the VM is looked for at the provider",
      {},
      (p) => {
        expect(p.step).toEqual({ kind: "find" });
      },
    ],
  ])("%s", (_name, overrides, check) => {
    check(planVmDelete(deleteFacts(overrides)));
  });
});

describe("planDeleteFound", () => {
  const vm = vmOf({}, {}, { deleting: true });
  const status = statusOf();
  it.each<[string, string, Parameters<typeof planDeleteFound>[4], string]>([
    ["ours: deleted", "vm-1", { exists: true, vm: reported() }, "delete"],
    [
      "another's: left as it is",
      "vm-1",
      { exists: true, vm: reported({ labels: { "virtrigaud.io/uid": "theirs" } }) },
      "leave",
    ],
    ["gone already", "vm-1", { exists: false }, "gone"],
    ["none of its name found", "", undefined, "gone"],
  ])("%s", (_name, vmId, described, kind) => {
    expect(planDeleteFound(vm, status, providerKey, vmId, described, () => undefined).kind).toBe(
      kind,
    );
  });
});
