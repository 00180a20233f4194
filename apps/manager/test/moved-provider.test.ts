import { afterEach, expect, it } from "@jest/globals";
import { ConditionStatus, Kind } from "@virtrigaud/proto/manager";
import { stack, vmManifest } from "./fixtures.js";
import { type TestManager, startTestManager } from "./harness.js";
import { type ServerProcess, eventually, providerCalls, spawnMock } from "./processes.js";

// A Provider annotated as moved may be pointed at another server: one that
// does not have the bound VMs is not sent them (and their cloud-init) again
// unless each VM's owner asks.

let old: ServerProcess | undefined;
let moved: ServerProcess | undefined;
let tm: TestManager | undefined;
afterEach(async () => {
  await tm?.close();
  await old?.stop();
  await moved?.stop();
  tm = old = moved = undefined;
});

const annotated = (yaml: string, name: string, key: string) =>
  yaml.replace(`  name: ${name}\n`, `  name: ${name}\n  annotations:\n    ${key}: "true"\n`);

it("makes no VM again at a moved provider that does not have it, until the VM asks", async () => {
  old = await spawnMock();
  moved = await spawnMock();
  tm = await startTestManager();
  await tm.apply(stack(old.url));
  await tm.apply(vmManifest("web-1"));
  const before = await tm.ready("web-1");
  const t = tm;

  await tm.apply(annotated(stack(moved.url), "mock", "virtrigaud.io/provider-moved"));
  const lost = await eventually(
    () => {
      const ready = t.vm("web-1")?.status?.conditions.find((c) => c.type === "Ready");
      return ready?.reason === "NotFoundAtProvider" ? ready : undefined;
    },
    15_000,
    "web-1 NotFoundAtProvider",
  );
  expect(lost.status).toBe(ConditionStatus.FALSE);
  expect(lost.message).toMatch(/virtrigaud\.io\/recreate=true/);
  expect(tm.vm("web-1")?.status?.id).toBe(before.status?.id);
  expect(await tm.reasons(Kind.VIRTUAL_MACHINE, "web-1")).toContain("NotFoundAtProvider");
  // Several health probes and drift sweeps later, still nothing was made there.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect((await providerCalls(moved.opsUrl ?? ""))["Create"]).toBeUndefined();

  // The owner asks: made at the new endpoint.
  await tm.apply(annotated(vmManifest("web-1"), "web-1", "virtrigaud.io/recreate"));
  const again = await tm.ready("web-1");
  expect((await providerCalls(moved.opsUrl ?? ""))["Create"]).toBe(1);
  expect(again.status?.id).toBeTruthy();
}, 60_000);
