import { type MessageInitShape, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import {
  ConditionStatus,
  SnapshotPhase,
  type VMSnapshot,
  VMSnapshotSchema,
  type VMSnapshotStatus,
  VMSnapshotStatusSchema,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import { snapshotFinalizer } from "../api/manager-service.js";
import {
  type SnapshotFacts,
  type SnapshotPlan,
  planRetention,
  planSnapshot,
} from "./snapshot-plan.js";

const now = 1_700_000_000_000;
const generation = 2n;
type SpecInit = NonNullable<MessageInitShape<typeof VMSnapshotSchema>["spec"]>;

function snapOf(
  spec: SpecInit = {},
  extra: { deleting?: boolean; finalizers?: string[]; name?: string } = {},
): VMSnapshot {
  return create(VMSnapshotSchema, {
    metadata: {
      name: extra.name ?? "s",
      namespace: "default",
      generation,
      finalizers: extra.finalizers ?? [snapshotFinalizer],
      ...(extra.deleting ? { deletionTimestamp: { seconds: 1n } } : {}),
    },
    spec: { vmRef: { name: "web" }, ...spec } as SpecInit,
  });
}

const vm = create(VirtualMachineSchema, { metadata: { name: "web" }, status: { id: "vm-1" } });
const taken = (init: MessageInitShape<typeof VMSnapshotStatusSchema> = {}): VMSnapshotStatus =>
  create(VMSnapshotStatusSchema, {
    snapshotId: "snap-1",
    vmId: "vm-1",
    phase: SnapshotPhase.READY,
    creationTime: timestampFromMs(now - 60_000),
    ...init,
  });

function factsOf(overrides: Partial<SnapshotFacts> = {}): SnapshotFacts {
  return {
    snap: snapOf(),
    status: create(VMSnapshotStatusSchema),
    now,
    vm,
    reachable: true,
    notShared: undefined,
    task: undefined,
    taken: false,
    ...overrides,
  };
}
const ready = (p: SnapshotPlan) => p.status.conditions.find((c) => c.type === "Ready");
const failed = new ProviderError(ErrorReason.INTERNAL, "boom");

describe("planSnapshot", () => {
  it.each<[string, Partial<SnapshotFacts>, (plan: SnapshotPlan) => void]>([
    // Taking it.
    [
      "no VM: Pending, VMNotFound",
      { vm: undefined },
      (p) => {
        expect(p.step).toEqual({ kind: "wait" });
        expect(p.status.phase).toBe(SnapshotPhase.PENDING);
        expect(ready(p)?.reason).toBe("VMNotFound");
      },
    ],
    [
      "a VM not made yet: Pending, VMNotReady",
      {
        vm: create(VirtualMachineSchema, { metadata: { name: "web" } }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait" });
        expect(ready(p)?.reason).toBe("VMNotReady");
      },
    ],
    [
      "the VM's Provider not shared with its namespace: no snapshot taken",
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
            "VirtualMachine web: spec.provider_ref: Provider infra/p is not shared with namespace default",
        });
      },
    ],
    [
      "the provider away: ProviderUnavailable",
      { reachable: false },
      (p) => {
        expect(p.step).toEqual({ kind: "wait" });
        expect(ready(p)?.reason).toBe("ProviderUnavailable");
      },
    ],
    [
      "Failed at this generation: nothing until the spec changes",
      {
        status: create(VMSnapshotStatusSchema, {
          phase: SnapshotPhase.FAILED,
          observedGeneration: generation,
        }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "none" });
      },
    ],
    [
      "not taken: Creating, then SnapshotCreate",
      {
        snap: snapOf({ snapshotConfig: { name: "before-upgrade", includeMemory: true } }),
      },
      (p) => {
        expect(p.step).toEqual({
          kind: "create",
          request: {
            vmId: "vm-1",
            name: "before-upgrade",
            description: "",
            includeMemory: true,
            quiesce: false,
          },
        });
        expect(p.status).toMatchObject({ phase: SnapshotPhase.CREATING, vmId: "vm-1" });
        expect(ready(p)?.reason).toBe("Creating");
      },
    ],
    [
      "a task that runs is followed",
      { status: taken({ taskRef: "t1", phase: SnapshotPhase.CREATING }) },
      (p) => {
        expect(p.step).toEqual({ kind: "followTask", taskId: "t1" });
      },
    ],
    [
      "a task that failed: refused as Create",
      {
        status: taken({ taskRef: "t1", phase: SnapshotPhase.CREATING }),
        task: { error: failed },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "taskFailed", verb: "Create", error: failed });
        expect(p.status.taskRef).toBe("");
      },
    ],
    [
      "taken: Ready, Created, once",
      {
        status: taken({ taskRef: "t1", phase: SnapshotPhase.CREATING }),
        task: { error: undefined },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "ready", requeueAfterMs: undefined });
        expect(p.status.phase).toBe(SnapshotPhase.READY);
        expect(p.events.map((e) => e.reason)).toEqual(["Created"]);
        expect(ready(p)?.status).toBe(ConditionStatus.TRUE);
      },
    ],
    [
      "just taken without a task (whatever id it got): Ready",
      { taken: true },
      (p) => {
        expect(p.step.kind).toBe("ready");
      },
    ],
    [
      "Ready already: no event again",
      { status: taken() },
      (p) => {
        expect(p.events).toEqual([]);
        expect(p.status.observedGeneration).toBe(generation);
      },
    ],

    // Retention by age, and its VM.
    [
      "younger than maxAge: looked at again when it expires",
      {
        snap: snapOf({ retentionPolicy: { maxAge: "2m" } }),
        status: taken(),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "ready", requeueAfterMs: 60_000 });
      },
    ],
    [
      "older than maxAge: Expired and deleted",
      {
        snap: snapOf({ retentionPolicy: { maxAge: "30s" } }),
        status: taken(),
      },
      (p) => {
        expect(p.step).toMatchObject({
          kind: "expire",
          event: { reason: "Expired", message: "older than 30s" },
        });
        expect(p.status.phase).toBe(SnapshotPhase.EXPIRED);
      },
    ],
    [
      "pinned: never expires",
      {
        snap: snapOf({ retentionPolicy: { maxAge: "30s" }, metadata: { pinned: true } }),
        status: taken(),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "ready", requeueAfterMs: undefined });
      },
    ],
    [
      "its VM deleted: deleted with it",
      { vm: undefined, status: taken() },
      (p) => {
        expect(p.step).toMatchObject({ kind: "vmDeleted", event: { reason: "VMDeleted" } });
      },
    ],
    [
      "its VM deleted, deleteOnVmDelete false: kept",
      {
        vm: undefined,
        status: taken(),
        snap: snapOf({ retentionPolicy: { deleteOnVmDelete: false } }),
      },
      (p) => {
        expect(p.step).toEqual({ kind: "none" });
      },
    ],

    // Deleting it.
    [
      "deleted without the finalizer: nothing",
      { snap: snapOf({}, { deleting: true, finalizers: [] }) },
      (p) => {
        expect(p.step).toEqual({ kind: "none" });
      },
    ],
    [
      "deleted: SnapshotDelete at the provider",
      { snap: snapOf({}, { deleting: true }), status: taken() },
      (p) => {
        expect(p.step).toEqual({
          kind: "deleteAtProvider",
          request: { vmId: "vm-1", snapshotId: "snap-1" },
        });
        expect(p.status.phase).toBe(SnapshotPhase.DELETING);
      },
    ],
    [
      "deleted, the provider away: DeleteBlocked",
      {
        snap: snapOf({}, { deleting: true }),
        status: taken(),
        reachable: false,
      },
      (p) => {
        expect(p.step).toEqual({ kind: "wait" });
        expect(ready(p)?.reason).toBe("DeleteBlocked");
      },
    ],
    [
      "deleted, its delete task failed: refused as Delete",
      {
        snap: snapOf({}, { deleting: true }),
        status: taken({ taskRef: "t1" }),
        task: { error: failed },
      },
      (p) => {
        expect(p.step).toEqual({ kind: "taskFailed", verb: "Delete", error: failed });
      },
    ],
    [
      "deleted, its delete task done: let go",
      {
        snap: snapOf({}, { deleting: true }),
        status: taken({ taskRef: "t1" }),
        task: { error: undefined },
      },
      (p) => {
        expect(p.step).toMatchObject({ kind: "release", event: { reason: "Deleted" } });
      },
    ],
    [
      "deleted, never taken: let go",
      { snap: snapOf({}, { deleting: true }) },
      (p) => {
        expect(p.step.kind).toBe("release");
      },
    ],
    [
      "deleted, of a VM that is another now: let go",
      {
        snap: snapOf({}, { deleting: true }),
        status: taken({ vmId: "vm-0" }),
      },
      (p) => {
        expect(p.step.kind).toBe("release");
      },
    ],
  ])("%s", (_name, overrides, check) => {
    check(planSnapshot(factsOf(overrides)));
  });
});

describe("planRetention", () => {
  const ready = (name: string, ageMs: number, spec: SpecInit = {}) => {
    const s = snapOf({ retentionPolicy: { maxCount: 2 }, ...spec } as SpecInit, { name });
    s.status = taken({ creationTime: timestampFromMs(now - ageMs) });
    return s;
  };
  it("deletes the oldest beyond maxCount, keeping pinned ones", () => {
    const all = [
      ready("a", 4000),
      ready("b", 3000, { retentionPolicy: { maxCount: 2 }, metadata: { pinned: true } }),
      ready("c", 2000),
      ready("d", 1000),
      ready("other-vm", 9000, { vmRef: { name: "db" } }),
    ];
    expect(planRetention(all, "web", 2).map((r) => r.snapshot.metadata?.name)).toEqual(["a", "c"]);
  });
  it("keeps all within maxCount", () => {
    expect(planRetention([ready("a", 2000), ready("b", 1000)], "web", 2)).toEqual([]);
  });
});
