import { afterEach, expect, it } from "@jest/globals";
import { ErrorReason } from "@virtrigaud/contracts";
import {
  ConditionStatus,
  Kind,
  type VMSnapshot,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { stack, vmManifest } from "./fixtures.js";
import { type TestManager, startTestManager } from "./harness.js";
import { type ServerProcess, eventually, providerCalls, spawnMock } from "./processes.js";

// A VirtualMachine of one namespace uses a Provider, class and image of
// another only when they are shared with its namespace
// (virtrigaud.io/shared-with), and stops using them when they no longer are.

let mock: ServerProcess | undefined;
let tm: TestManager | undefined;
afterEach(async () => {
  await tm?.close();
  await mock?.stop();
  tm = mock = undefined;
});

/** The test stack in namespace team-b, each resource annotated shared-with `sharedWith`. */
function teamB(endpoint: string, sharedWith?: string): string {
  const annotations = sharedWith
    ? `  annotations:\n    virtrigaud.io/shared-with: "${sharedWith}"\n`
    : "";
  return stack(endpoint).replaceAll(
    "metadata:\n",
    `metadata:\n  namespace: team-b\n${annotations}`,
  );
}

/** web in team-a, on the Provider, class and image of team-b. */
const web = vmManifest("web")
  .replace("metadata:\n", "metadata:\n  namespace: team-a\n")
  .replace("    name: mock\n", "    name: mock\n    namespace: team-b\n")
  .replace("    name: small\n", "    name: small\n    namespace: team-b\n")
  .replace("    name: debian\n", "    name: debian\n    namespace: team-b\n");

const webOf = (t: TestManager) =>
  t.manager.store.get(Kind.VIRTUAL_MACHINE, "team-a", "web") as VirtualMachine | undefined;
const readyOf = (t: TestManager) => webOf(t)?.status?.conditions.find((c) => c.type === "Ready");

it("refuses a reference into another namespace unless shared, and stops acting when unshared", async () => {
  mock = await spawnMock();
  tm = await startTestManager();
  const t = tm;
  await tm.apply(teamB(mock.url));

  // Not shared: refused at apply, naming the reference.
  const refused = await tm.apply(web).catch((err: unknown) => err);
  expect(refused).toMatchObject({
    reason: ErrorReason.INVALID_SPEC,
    field: "resource.virtual_machine.spec.provider_ref",
  });
  expect((refused as Error).message).toMatch(
    /Provider team-b\/mock is not shared with namespace team-a/,
  );
  // Shared with another namespace only: still refused.
  await tm.apply(teamB(mock.url, "team-c"));
  await expect(tm.apply(web)).rejects.toMatchObject({
    field: "resource.virtual_machine.spec.provider_ref",
  });
  // A bad annotation is refused with its field.
  await expect(tm.apply(teamB(mock.url, "team-a;team-c"))).rejects.toMatchObject({
    field: 'resource.provider.metadata.annotations["virtrigaud.io/shared-with"]',
  });

  // Shared: the VM is made.
  await tm.apply(teamB(mock.url, "team-a, team-c"));
  await tm.apply(web);
  await eventually(
    () => (readyOf(t)?.status === ConditionStatus.TRUE ? true : undefined),
    15_000,
    "web Ready",
  );

  const reboot = (value: string) =>
    t.manager.store.update<VirtualMachine>(Kind.VIRTUAL_MACHINE, "team-a", "web", (vm) => {
      if (vm.metadata) vm.metadata.annotations["virtrigaud.io/reboot"] = value;
    });
  // While shared, a reboot asked through the annotation reaches the provider.
  await reboot("first");
  const shared = await eventually(
    async () => (await providerCalls(mock?.opsUrl ?? ""))["Power"],
    10_000,
    "a Power call",
  );

  // No longer shared: a condition, and nothing more is asked of the provider.
  await tm.apply(teamB(mock.url));
  const notShared = await eventually(
    () => (readyOf(t)?.reason === "ReferenceNotShared" ? readyOf(t) : undefined),
    10_000,
    "web ReferenceNotShared",
  );
  expect(notShared?.status).toBe(ConditionStatus.FALSE);
  expect(notShared?.message).toMatch(/^spec\.provider_ref: Provider team-b\/mock is not shared/);
  await tm.manager.store.flush();
  const events = await tm.manager.store.listEvents({
    kind: Kind.VIRTUAL_MACHINE,
    name: "web",
    namespace: "team-a",
  });
  expect(events.filter((e) => e.reason === "ReferenceNotShared")).toHaveLength(1);
  // A reboot asked again: not done while the Provider is not shared.
  await reboot("second");
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect((await providerCalls(mock.opsUrl ?? ""))["Power"]).toBe(shared);
  expect(readyOf(t)?.reason).toBe("ReferenceNotShared");

  // Nor is a snapshot of it taken.
  await tm.apply(`apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSnapshot
metadata:
  name: before-upgrade
  namespace: team-a
spec:
  vmRef:
    name: web
`);
  const snapshotReady = await eventually(
    () => {
      const snap = t.manager.store.get(Kind.VM_SNAPSHOT, "team-a", "before-upgrade") as
        VMSnapshot | undefined;
      const c = snap?.status?.conditions.find((x) => x.type === "Ready");
      return c?.reason === "ReferenceNotShared" ? c : undefined;
    },
    10_000,
    "before-upgrade ReferenceNotShared",
  );
  expect(snapshotReady.message).toMatch(/^VirtualMachine web: spec\.provider_ref: /);
  expect((await providerCalls(mock.opsUrl ?? ""))["SnapshotCreate"]).toBeUndefined();
}, 60_000);
