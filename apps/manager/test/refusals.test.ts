import { afterEach, describe, expect, it } from "@jest/globals";
import {
  type Condition,
  ConditionStatus,
  EventType,
  Kind,
  type VMImage,
  VirtualMachinePhase,
} from "@virtrigaud/proto/manager";
import { stack, vmManifest } from "./fixtures.js";
import { type TestManager, startTestManager } from "./harness.js";
import { type ServerProcess, eventually, providerCalls, spawnMock } from "./processes.js";

const snapshotYaml = (name: string) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSnapshot
metadata:
  name: ${name}
spec:
  vmRef:
    name: web-1
`;

const cloneYaml = `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClone
metadata:
  name: c1
spec:
  source:
    vmRef:
      name: web-1
  target:
    name: web-2
  options:
    type: FullClone
`;

/**
 * Every refusal of the provider reaches the resource as a Warning event and
 * a Ready=False condition with the provider's message; refusals that would
 * come again are not retried hot. The provider is provider-mock, a real
 * process, refusing through its fault injection (and, for the image
 * template, for real).
 */
describe("provider refusals", () => {
  let mock: ServerProcess | undefined;
  let tm: TestManager | undefined;
  afterEach(async () => {
    await tm?.close();
    await mock?.stop();
    tm = mock = undefined;
  });

  const setup = async (mockArgs: string[] = []) => {
    mock = await spawnMock(mockArgs);
    tm = await startTestManager();
    await tm.apply(stack(mock.url));
    return { mock, tm };
  };
  const readyOf = (kind: Kind, name: string): Condition | undefined =>
    (
      tm?.manager.store.get(kind, "default", name) as
        { status?: { conditions: Condition[] } } | undefined
    )?.status?.conditions.find((c) => c.type === "Ready");

  /** Waits for Ready=False with `reason`, and a Warning event `event`; both carry `message`. */
  const refused = async (
    kind: Kind,
    name: string,
    reason: string,
    message: RegExp,
    event = reason,
  ) => {
    const condition = await eventually(
      () => {
        const c = readyOf(kind, name);
        return c?.reason === reason ? c : undefined;
      },
      15_000,
      `${name}: Ready=False ${reason}`,
    );
    expect(condition.status).toBe(ConditionStatus.FALSE);
    expect(condition.message).toMatch(message);
    // Events are written in batches after the status: wait for it too.
    const warning = await eventually(
      async () =>
        ((await tm?.manager.store.listEvents({ kind, name, namespace: "default" })) ?? []).find(
          (e) => e.reason === event,
        ),
      15_000,
      `${name}: a ${event} event`,
    );
    expect(warning.type).toBe(EventType.WARNING);
    expect(warning.message).toMatch(message);
  };
  const calls = async (method: string) => (await providerCalls(mock?.opsUrl ?? ""))[method] ?? 0;
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("shows a Create the provider refuses, with its field, and waits instead of retrying", async () => {
    const { tm } = await setup();
    // The mock knows no template "nope": a real INVALID_SPEC naming the field.
    await tm.apply(`apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: missing
spec:
  source:
    vsphere:
      templateName: nope
`);
    await tm.apply(vmManifest("web-1").replace("name: debian", "name: missing"));
    await refused(
      Kind.VIRTUAL_MACHINE,
      "web-1",
      "CreateFailed",
      /^\[invalid_spec\] image\.template: no template named "nope"$/,
    );
    expect(tm.vm("web-1")?.status?.phase).toBe(VirtualMachinePhase.FAILED);
    await pause(1500);
    expect(await calls("Create")).toBe(1);
  });

  it("shows a Create whose task fails, and waits instead of creating again and again", async () => {
    const { tm } = await setup(["--fault", "create:fail-task:reason=invalid_spec"]);
    await tm.apply(vmManifest("web-1"));
    await refused(Kind.VIRTUAL_MACHINE, "web-1", "CreateFailed", /injected fault/);
    expect(tm.vm("web-1")?.status?.id).toBe("");
    await pause(1500);
    expect(await calls("Create")).toBe(1);
  });

  it("shows a Create refused for a while (a quota), backs off, and creates it once it passes", async () => {
    // The client tries 3 times a call: the first reconcile is refused, the second passes.
    const { tm } = await setup(["--fault", "create:fail:reason=resource_exhausted,times=4"]);
    await tm.apply(vmManifest("web-1"));
    await refused(Kind.VIRTUAL_MACHINE, "web-1", "CreateFailed", /resource_exhausted/);
    expect(tm.vm("web-1")?.status?.phase).toBe(VirtualMachinePhase.PENDING);
    await tm.ready("web-1");
  });

  it("shows a refused Reconfigure, and keeps the VM as it is", async () => {
    const { tm } = await setup(["--fault", "reconfigure:fail:reason=invalid_spec"]);
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await tm.apply(vmManifest("web-1", { cpu: 4 }));
    await refused(Kind.VIRTUAL_MACHINE, "web-1", "ReconfigureFailed", /reconfigure fail/);
    expect(tm.vm("web-1")?.status?.currentResources?.cpu).toBe(2);
    expect(tm.vm("web-1")?.status?.phase).toBe(VirtualMachinePhase.RUNNING);
    await pause(1500);
    expect(await calls("Reconfigure")).toBe(1);
  });

  it("shows a Power whose task fails", async () => {
    const { tm } = await setup(["--fault", "power:fail-task:reason=conflict"]);
    await tm.apply(vmManifest("web-1", { powerState: "Off" }));
    await tm.ready("web-1");
    await tm.apply(vmManifest("web-1"));
    await refused(Kind.VIRTUAL_MACHINE, "web-1", "PowerFailed", /\[conflict\]/);
  });

  it("shows a refused revert to a snapshot", async () => {
    const { tm } = await setup(["--fault", "snapshotRevert:fail:reason=invalid_spec"]);
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await tm.apply(snapshotYaml("s1"));
    await eventually(() => readyOf(Kind.VM_SNAPSHOT, "s1")?.status === ConditionStatus.TRUE);
    await tm.apply(vmManifest("web-1", { revertTo: "s1" }));
    await refused(Kind.VIRTUAL_MACHINE, "web-1", "RevertFailed", /snapshotRevert fail/);
  });

  it("shows a refused Delete, and keeps the resource until the VM is gone", async () => {
    const { tm } = await setup(["--fault", "delete:fail:reason=permission_denied"]);
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await tm.client.delete({ kind: Kind.VIRTUAL_MACHINE, name: "web-1" });
    await refused(Kind.VIRTUAL_MACHINE, "web-1", "DeleteFailed", /\[permission_denied\]/);
    expect(tm.vm("web-1")).toBeDefined();
  });

  it("shows a snapshot refused for a while, and a snapshot delete whose task fails", async () => {
    const { tm } = await setup([
      "--fault",
      "snapshotCreate:fail:reason=resource_exhausted,times=3",
      "--fault",
      "snapshotDelete:fail-task:reason=conflict",
    ]);
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await tm.apply(snapshotYaml("s1"));
    await refused(Kind.VM_SNAPSHOT, "s1", "CreateFailed", /resource_exhausted/);
    await eventually(
      () => readyOf(Kind.VM_SNAPSHOT, "s1")?.status === ConditionStatus.TRUE,
      15_000,
      "s1 taken after the backoff",
    );
    await tm.client.delete({ kind: Kind.VM_SNAPSHOT, name: "s1" });
    await refused(Kind.VM_SNAPSHOT, "s1", "DeleteFailed", /\[conflict\]/);
  });

  it("shows a clone refused for a while (a quota)", async () => {
    const { tm } = await setup(["--fault", "clone:fail:reason=resource_exhausted"]);
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await tm.apply(cloneYaml);
    await refused(Kind.VM_CLONE, "c1", "CloneFailed", /resource_exhausted/);
  });

  it("fails a clone whose task the provider refuses as invalid, until its spec changes", async () => {
    const { tm } = await setup(["--fault", "clone:fail-task:reason=invalid_spec"]);
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await tm.apply(cloneYaml);
    await refused(Kind.VM_CLONE, "c1", "InvalidSpec", /clone fail/, "InvalidSpec");
    await pause(1500);
    expect(await calls("Clone")).toBe(1);
  });

  it("shows an image the provider will not prepare as not available, and the VMs that wait for it", async () => {
    const { tm } = await setup(["--fault", "imagePrepare:fail:reason=invalid_spec"]);
    await refused(Kind.VM_IMAGE, "debian", "PrepareFailed", /imagePrepare fail/);
    const image = tm.manager.store.get(Kind.VM_IMAGE, "default", "debian") as VMImage;
    expect(image.status?.ready).toBe(false);
    expect(image.status?.providerStatus["default/mock"]?.available).toBe(false);
    await tm.apply(vmManifest("web-1"));
    await eventually(
      () => readyOf(Kind.VIRTUAL_MACHINE, "web-1")?.reason === "ImageNotReady",
      10_000,
      "ImageNotReady",
    );
    expect(readyOf(Kind.VIRTUAL_MACHINE, "web-1")?.message).toMatch(/imagePrepare fail/);
  });
});
