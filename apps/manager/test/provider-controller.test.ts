import { afterEach, describe, expect, it } from "@jest/globals";
import { ErrorReason } from "@virtrigaud/contracts";
import {
  CircuitState,
  ConditionStatus,
  Kind,
  ProviderCapability,
  ProviderPhase,
  type Provider as ProviderResource,
} from "@virtrigaud/proto/manager";
import { stack, vmManifest } from "./fixtures.js";
import { type TestManager, startTestManager } from "./harness.js";
import { type ServerProcess, eventually, freePort, providerCalls, spawnMock } from "./processes.js";

describe("Provider controller, against provider-mock", () => {
  let mock: ServerProcess | undefined;
  let tm: TestManager | undefined;
  afterEach(async () => {
    await tm?.close();
    await mock?.stop();
    tm = mock = undefined;
  });
  const provider = (t: TestManager) =>
    t.manager.store.get(Kind.PROVIDER, "default", "mock") as ProviderResource | undefined;

  it("probes health with Validate and records the capabilities", async () => {
    mock = await spawnMock(["--disable", "linked_clones,suspend"]);
    tm = await startTestManager();
    await tm.apply(stack(mock.url));
    const t = tm;
    const p = await eventually(
      () => (provider(t)?.status?.phase === ProviderPhase.READY ? provider(t) : undefined),
      10_000,
      "Ready",
    );
    expect(p.status).toMatchObject({
      healthy: true,
      circuit: CircuitState.CLOSED,
      version: "0.1.0",
    });
    expect(p.status?.capabilities).toEqual(
      expect.arrayContaining([ProviderCapability.SNAPSHOTS, ProviderCapability.CLONING]),
    );
    expect(p.status?.details?.linkedClones).toBe(false);
    expect(p.status?.conditions.find((c) => c.type === "Healthy")?.status).toBe(
      ConditionStatus.TRUE,
    );
    // Probed again at the health interval (300 ms here), and nothing else is called while idle.
    await new Promise((r) => setTimeout(r, 1000));
    const calls = await providerCalls(mock.opsUrl ?? "");
    expect(calls["Validate"]).toBeGreaterThanOrEqual(3);
    // The stack's path image was checked once (ImagePrepare), not again while idle.
    expect(calls["ImagePrepare"]).toBe(1);
    expect(Object.keys(calls).sort()).toEqual([
      "GetCapabilities",
      "ImagePrepare",
      "ListVMs",
      "Validate",
    ]);
  });

  it("opens the circuit when the provider goes away, stops calling it, and closes it when a probe passes", async () => {
    const port = await freePort();
    mock = await spawnMock(["--listen", `127.0.0.1:${port}`]);
    tm = await startTestManager();
    await tm.apply(stack(mock.url));
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await mock.stop("SIGKILL");
    const t = tm;
    await eventually(
      () => provider(t)?.status?.circuit === CircuitState.OPEN,
      10_000,
      "circuit open",
    );
    const vm = await eventually(
      () => {
        const v = t.vm("web-1");
        return v?.status?.conditions.find(
          (c) => c.type === "Ready" && c.reason === "ProviderUnavailable",
        )
          ? v
          : undefined;
      },
      10_000,
      "VM reports the provider",
    );
    expect(vm.status?.conditions.find((c) => c.type === "Ready")?.message).toMatch(/unavailable/);
    expect(provider(t)?.status?.phase).toBe(ProviderPhase.UNAVAILABLE);
    // While open, a new VM is not sent to the provider.
    await tm.apply(vmManifest("web-2"));
    await eventually(
      () => t.vm("web-2")?.status?.conditions.find((c) => c.reason === "ProviderUnavailable"),
      5000,
      "web-2 waits",
    );
    mock = await spawnMock(["--listen", `127.0.0.1:${port}`]);
    await eventually(
      () => provider(t)?.status?.circuit === CircuitState.CLOSED,
      10_000,
      "circuit closed",
    );
    await tm.ready("web-1", 10_000);
    await tm.ready("web-2", 10_000);
    expect(await tm.reasons(Kind.PROVIDER, "mock")).toEqual(
      expect.arrayContaining(["ProviderReady", "ProviderUnavailable"]),
    );
  });

  it("keeps a bound Provider's endpoint and type: pointed elsewhere, it would make every bound VM again there", async () => {
    mock = await spawnMock();
    tm = await startTestManager();
    await tm.apply(stack(mock.url));
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    const elsewhere = "http://127.0.0.1:1";
    const refused = await tm.apply(stack(elsewhere)).catch((err: unknown) => err);
    expect(refused).toMatchObject({
      reason: ErrorReason.INVALID_SPEC,
      field: "resource.provider.spec.endpoint",
    });
    expect((refused as Error).message).toMatch(
      /cannot change while VirtualMachines are bound to this provider \(default\/web-1\): they run at http:\/\/127\.0\.0\.1:\d+; if this provider moved there, annotate the Provider virtrigaud\.io\/provider-moved=true/,
    );
    expect(provider(tm)?.spec?.endpoint).toBe(mock.url);
    const retyped = await tm
      .apply(stack(mock.url).replace("type: mock", "type: libvirt"))
      .catch((err: unknown) => err);
    expect(retyped).toMatchObject({ field: "resource.provider.spec.type" });
    // The same provider, moved: said so, the change goes through.
    const moved = stack(elsewhere).replace(
      "  name: mock\n",
      '  name: mock\n  annotations:\n    virtrigaud.io/provider-moved: "true"\n',
    );
    await tm.apply(moved);
    expect(provider(tm)?.spec?.endpoint).toBe(elsewhere);
  });
});
