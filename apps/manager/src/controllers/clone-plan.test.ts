import { type MessageInitShape, create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import {
  CloneType as ProviderCloneType,
  ErrorReason,
  ProviderError,
  VirtualMachineSchema as ProviderVmSchema,
} from "@virtrigaud/contracts";
import {
  CircuitState,
  ClonePhase,
  CloneType,
  ConditionStatus,
  PowerState,
  VMCloneSchema,
  VMCloneStatusSchema,
  VMSnapshotSchema,
  VirtualMachinePhase,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import {
  type CloneFacts,
  type ClonePlan,
  cloneAnnotation,
  planClone,
  targetVm,
} from "./clone-plan.js";

const now = 1_700_000_000_000;
const generation = 1n;
type SpecInit = NonNullable<MessageInitShape<typeof VMCloneSchema>["spec"]>;

const cloneOf = (spec: SpecInit = {}) =>
  create(VMCloneSchema, {
    metadata: { name: "c", namespace: "default", uid: "clone-uid", generation },
    spec: {
      source: { vmRef: { name: "src" } },
      target: { name: "copy" },
      ...spec,
    } as SpecInit,
  });
const source = create(VirtualMachineSchema, {
  metadata: { name: "src", namespace: "default", uid: "src-uid" },
  spec: {
    powerState: PowerState.ON,
    classRef: { name: "small", namespace: "" },
    snapshot: { revertToRef: { name: "x" } },
  },
  status: { id: "vm-src", boundProvider: { name: "p", namespace: "default" } },
});
const reported = (labels: Record<string, string> = { "virtrigaud.io/uid": "src-uid" }) =>
  create(ProviderVmSchema, { id: "vm-copy", name: "copy", labels });
const statusOf = (init: MessageInitShape<typeof VMCloneStatusSchema> = {}) =>
  create(VMCloneStatusSchema, init);

function factsOf(overrides: Partial<CloneFacts> = {}): CloneFacts {
  return {
    vmClone: cloneOf(),
    status: statusOf(),
    now,
    target: undefined,
    snapshot: undefined,
    sourceVm: source,
    connection: { circuit: CircuitState.CLOSED },
    notShared: undefined,
    task: undefined,
    described: undefined,
    ...overrides,
  };
}
const ready = (p: ClonePlan) => p.status.conditions.find((c) => c.type === "Ready");
const failed = new ProviderError(ErrorReason.INTERNAL, "boom");
const ourTarget = (readyTarget: boolean) =>
  create(VirtualMachineSchema, {
    metadata: { name: "copy", annotations: { [cloneAnnotation]: "clone-uid" } },
    status: {
      conditions: [
        { type: "Ready", status: readyTarget ? ConditionStatus.TRUE : ConditionStatus.FALSE },
      ],
    },
  });

describe("planClone", () => {
  it.each<[string, Partial<CloneFacts>, (plan: ClonePlan) => void]>([
    [
      "Failed at this generation: nothing",
      {
        status: statusOf({ phase: ClonePhase.FAILED, observedGeneration: generation }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "none" });
      },
    ],
    [
      "a target made once and deleted since: not made again",
      {
        status: statusOf({ targetRef: { name: "copy" } }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "none" });
      },
    ],
    [
      "a target of that name not made by this clone: TargetExists",
      {
        target: create(VirtualMachineSchema, { metadata: { name: "copy" } }),
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "fail", event: { reason: "TargetExists" } });
        expect(p.status.phase).toBe(ClonePhase.FAILED);
      },
    ],
    [
      "its target ready: Completed, once",
      { target: ourTarget(true), status: statusOf({ vmId: "vm-copy" }) },
      (p) => {
        expect(p.step).toEqual({ kind: "wait" });
        expect(p.status.phase).toBe(ClonePhase.READY);
        expect(p.events.map((e) => e.reason)).toEqual(["Completed"]);
      },
    ],
    [
      "its target not ready yet: TargetNotReady",
      { target: ourTarget(false), status: statusOf({ vmId: "vm-copy" }) },
      (p) => {
        expect(ready(p)?.reason).toBe("TargetNotReady");
      },
    ],
    [
      "from a snapshot that is not ready: SnapshotNotReady",
      {
        vmClone: cloneOf({ source: { snapshotRef: { name: "s" } } }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait" });
        expect(ready(p)?.reason).toBe("SnapshotNotReady");
      },
    ],
    [
      "a source not made yet: SourceNotReady",
      { sourceVm: undefined },
      (p) => {
        expect(ready(p)?.reason).toBe("SourceNotReady");
      },
    ],
    [
      "to another provider: Unsupported",
      {
        vmClone: cloneOf({ target: { name: "copy", providerRef: { name: "q", namespace: "" } } }),
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "fail", event: { reason: "Unsupported" } });
      },
    ],
    [
      "the source's Provider not shared with its namespace: nothing cloned",
      {
        notShared: {
          field: "spec.provider_ref",
          message: "Provider infra/p is not shared with namespace default",
        },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait" });
        expect(ready(p)).toMatchObject({
          reason: "ReferenceNotShared",
          message:
            "the source VirtualMachine: spec.provider_ref: Provider infra/p is not shared with namespace default",
        });
      },
    ],
    [
      "the provider away: ProviderUnavailable",
      { connection: { circuit: CircuitState.OPEN } },
      (p) => {
        expect(ready(p)?.reason).toBe("ProviderUnavailable");
      },
    ],
    [
      "not cloned: Cloning, then Clone (full by default)",
      {},
      (p) => {
        expect(p.step).toMatchObject({
          kind: "clone",
          request: {
            sourceVmId: "vm-src",
            name: "copy",
            type: ProviderCloneType.FULL,
            snapshotId: "",
            powerOn: false,
          },
          event: { reason: "Cloning" },
        });
        expect(p.status).toMatchObject({
          phase: ClonePhase.CLONING,
          actualCloneType: CloneType.FULL_CLONE,
        });
      },
    ],
    [
      "a linked clone from a snapshot",
      {
        vmClone: cloneOf({
          source: { snapshotRef: { name: "s" } },
          options: { type: CloneType.LINKED_CLONE },
        }),
        snapshot: create(VMSnapshotSchema, { status: { snapshotId: "snap-1" } }),
      },
      (p) => {
        expect(p.step).toMatchObject({
          kind: "clone",
          request: { type: ProviderCloneType.LINKED, snapshotId: "snap-1" },
        });
      },
    ],
    [
      "a clone task that runs is followed",
      { status: statusOf({ vmId: "vm-copy", taskRef: "t1" }) },
      (p) => {
        expect(p.step).toEqual({ kind: "followTask", taskId: "t1" });
      },
    ],
    [
      "a clone task that failed: refused, cloned again",
      {
        status: statusOf({ vmId: "vm-copy", taskRef: "t1" }),
        task: { error: failed },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "taskFailed", error: failed });
        expect(p.status.vmId).toBe("");
      },
    ],
    [
      "cloned: described",
      { status: statusOf({ vmId: "vm-copy" }) },
      (p) => {
        expect(p.step).toEqual({ kind: "describe" });
      },
    ],
    [
      "the clone vanished: cloned again",
      { status: statusOf({ vmId: "vm-copy" }), described: null },
      (p) => {
        expect(p.step).toEqual({ kind: "vanished" });
        expect(p.status.vmId).toBe("");
      },
    ],
    [
      "a VM of its name that is another manager's: OwnedByAnotherManager",
      {
        status: statusOf({ vmId: "vm-copy" }),
        described: reported({ "virtrigaud.io/uid": "theirs" }),
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "fail", event: { reason: "OwnedByAnotherManager" } });
        expect(p.status.vmId).toBe("");
      },
    ],
    [
      "the clone there: its target declared",
      {
        status: statusOf({ vmId: "vm-copy" }),
        described: reported(),
      },
      (p) => {
        expect(p.step).toMatchObject({
          kind: "declare",
          event: { reason: "Cloned", message: "VirtualMachine copy is vm-copy" },
        });
        expect(p.status.targetRef?.name).toBe("copy");
      },
    ],
  ])("%s", (_name, overrides, check) => {
    check(planClone(factsOf(overrides)));
  });
});

describe("targetVm", () => {
  it("is the source's spec with the clone's power, class and no revert, bound to the clone", () => {
    const made = targetVm(
      cloneOf({
        target: { name: "copy", classRef: { name: "large" } },
        options: { powerOn: false },
      }),
      source,
      "vm-copy",
      "src-uid",
    );
    expect(made?.metadata?.annotations).toEqual({
      [cloneAnnotation]: "clone-uid",
      "virtrigaud.io/cloned-from": "src",
    });
    expect(made?.spec?.powerState).toBe(PowerState.OFF);
    expect(made?.spec?.classRef?.name).toBe("large");
    expect(made?.spec?.snapshot).toBeUndefined();
    expect(made?.status).toMatchObject({
      id: "vm-copy",
      providerName: "copy",
      phase: VirtualMachinePhase.PROVISIONING,
      adoptedOwnerUid: "src-uid",
    });
  });
});
