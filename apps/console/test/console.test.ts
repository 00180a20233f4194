import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toJson } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import {
  type ApplyRequest,
  ApplyRequestSchema,
  Kind,
  ManagerService,
  PowerState,
  ProviderSchema,
  ProviderType,
  ResourceSchema,
  VMSnapshotSchema,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import type { Page } from "playwright-core";
import { type TestBrowser, startBrowser } from "./browser";
import {
  type ConsoleStack,
  startConsoleStack,
  stackManifest,
  tokens,
  viewerBinding,
  vmManifest,
} from "./stack";

/** Where the screenshots go: the repository has no CI artifacts folder; this one is ignored by git. */
const screenshots = fileURLToPath(new URL("../test-results/", import.meta.url));
const admin = { headers: { authorization: `Bearer ${tokens.admin}` } };

describe("the web console, in Chromium, against a manager and provider-mock", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-e2e-"));
  let stack: ConsoleStack;
  let browser: TestBrowser;
  let api: ReturnType<typeof createServiceClient<typeof ManagerService>>;

  const getVm = async (namespace: string, name: string): Promise<VirtualMachine> => {
    const { resource } = await api.get({ kind: Kind.VIRTUAL_MACHINE, namespace, name }, admin);
    if (resource?.kind.case !== "virtualMachine") throw new Error(`${namespace}/${name} is no VM`);
    return resource.kind.value;
  };
  /** How many SnapshotRevert calls provider-mock has served (its /metrics). */
  const snapshotReverts = async (): Promise<number> => {
    const text = await (await fetch(`${stack.mock.opsUrl ?? ""}/metrics`)).text();
    return [
      ...text.matchAll(/rpc_server_duration_count\{[^}]*rpc_method="SnapshotRevert"[^}]*\} (\d+)/g),
    ].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  /** Polls `check` (15 s at most) until it returns a value other than false. */
  const eventually = async <T>(check: () => Promise<T | false>, what: string): Promise<T> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await check();
      if (value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const row = (page: Page, key: string) => page.locator(`[data-vm="${key}"]`);
  const logIn = async (page: Page, token: string, user: string) => {
    await page.goto(`${stack.manager.url}/console/`);
    await page.getByLabel("token").fill(token);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("user").textContent()).resolves.toBe(user);
  };

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    stack = await startConsoleStack(dir);
    api = createServiceClient(ManagerService, stack.manager.url);
    await stack.vrtg(["apply", "-f", "-"], stackManifest(stack.mock.url, "default"));
    await stack.vrtg(["apply", "-f", "-"], stackManifest(stack.mock.url, "team-a"));
    await stack.vrtg(
      ["apply", "-f", "-"],
      [
        viewerBinding,
        vmManifest("web-1", "default", "web"),
        vmManifest("web-2", "default", "web"),
        vmManifest("db-1", "team-a", "db"),
      ].join("---\n"),
    );
    browser = await startBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("logs in with a token kept in the tab's sessionStorage, and the fleet shows every VM running", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.manager.url}/console/`);
    // A wrong token is refused and not kept.
    await page.getByLabel("token").fill("not-a-token");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByText("The manager refused the token").waitFor();
    await expect(page.evaluate(() => sessionStorage.length)).resolves.toBe(0);

    await logIn(page, tokens.admin, "admin");
    for (const key of ["default/web-1", "default/web-2", "team-a/db-1"])
      await row(page, key).locator('[data-field="power"]', { hasText: "On" }).waitFor();
    await expect(page.evaluate(() => Object.values(sessionStorage) as string[])).resolves.toEqual([
      tokens.admin,
    ]);
    await page.screenshot({ path: join(screenshots, "fleet.png") });

    // Filtered by namespace here, by label at the manager; sorted by a column.
    await page.getByLabel("namespace").selectOption("team-a");
    await expect(page.getByTestId("vm-count").textContent()).resolves.toBe("1 of 3 VMs");
    await page.getByLabel("namespace").selectOption("");
    await page.getByLabel("label selector").fill("app=web");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByTestId("vm-count").getByText("2 of 2 VMs").waitFor();
    await page.getByRole("columnheader", { name: "Name ▲", exact: true }).click();
    await page.getByRole("columnheader", { name: "Name ▼" }).waitFor();
    await expect(page.locator("[data-vm]").first().getAttribute("data-vm")).resolves.toBe(
      "default/web-2",
    );
    // No token in the manager's log.
    expect(JSON.stringify(stack.manager.logs)).not.toContain(tokens.admin);
    await page.close();
  });

  it("changes a VM's row live when another client powers it off, without a reload", async () => {
    const page = await browser.context.newPage();
    await logIn(page, tokens.admin, "admin");
    const power = row(page, "default/web-1").locator('[data-field="power"]');
    await power.getByText("On").waitFor();
    // Gone if the page reloads.
    await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));

    const vm = await getVm("default", "web-1");
    if (vm.spec) vm.spec.powerState = PowerState.OFF;
    await api.apply({ resource: { kind: { case: "virtualMachine", value: vm } } }, admin);
    await power.getByText("Off").waitFor({ timeout: 15_000 });
    await expect(
      page.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
    ).resolves.toBe(true);
    await page.screenshot({ path: join(screenshots, "fleet-live.png") });
    await page.close();
  });

  it("powers a VM off from its page, which shows its status, conditions and events", async () => {
    const page = await browser.context.newPage();
    await logIn(page, tokens.admin, "admin");
    await row(page, "default/web-2").click();
    await page.getByRole("heading", { name: "default/web-2" }).waitFor();
    expect(page.url()).toBe(`${stack.manager.url}/console/vms/default/web-2`);
    const table = (name: string) => page.getByRole("table", { name, exact: true });
    await table("conditions").getByRole("cell", { name: "Ready", exact: true }).first().waitFor();
    await page.locator('[data-field="power"]', { hasText: "On" }).waitFor();
    await page.getByRole("button", { name: "Power off" }).click();
    await page.locator('[data-field="power"]', { hasText: "Off" }).waitFor({ timeout: 15_000 });
    expect((await getVm("default", "web-2")).spec?.powerState).toBe(PowerState.OFF);
    await table("events").getByRole("cell", { name: "PowerOff" }).first().waitFor();
    await page.screenshot({ path: join(screenshots, "vm.png"), fullPage: true });
    await page.close();
  });

  it("takes a snapshot from a VM's page, reverts the VM to it and deletes it", async () => {
    const page = await browser.context.newPage();
    await logIn(page, tokens.admin, "admin");
    await row(page, "default/web-1").click();
    await page.getByRole("heading", { name: "default/web-1" }).waitFor();
    await page.getByLabel("snapshot name").fill("before-change");
    await page.getByRole("button", { name: "Take snapshot" }).click();
    const snapshot = page.locator('[data-snapshot="before-change"]');
    await snapshot
      .locator('[data-field="phase"]', { hasText: "Ready" })
      .waitFor({ timeout: 15_000 });
    const { resource } = await api.get(
      { kind: Kind.VM_SNAPSHOT, namespace: "default", name: "before-change" },
      admin,
    );
    expect(resource?.kind.case === "vmSnapshot" && resource.kind.value.spec?.vmRef?.name).toBe(
      "web-1",
    );

    // Revert asks first; Cancel does nothing.
    await snapshot.getByRole("button", { name: "Revert" }).click();
    const confirm = page.getByRole("dialog");
    await page.getByRole("dialog", { name: "Revert web-1 to before-change?" }).waitFor();
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "detached" });
    expect((await getVm("default", "web-1")).spec?.snapshot).toBeUndefined();
    await snapshot.getByRole("button", { name: "Revert" }).click();
    await confirm.getByRole("button", { name: "Revert" }).click();
    await page
      .locator('[data-field="reverted-to"]', { hasText: "before-change" })
      .waitFor({ timeout: 15_000 });
    const reverted = await getVm("default", "web-1");
    expect(reverted.spec?.snapshot?.revertToRef?.name).toBe("before-change");
    expect(reverted.status?.revertedTo).toBe("before-change");
    expect(reverted.status?.revertedGeneration).toBe(reverted.metadata?.generation);
    await page
      .getByRole("table", { name: "events" })
      .getByRole("cell", { name: "Reverting" })
      .first()
      .waitFor();
    await page.screenshot({ path: join(screenshots, "vm-snapshots.png"), fullPage: true });
    expect(await snapshotReverts()).toBe(1);

    // A power action after it (web-1 was powered off above) keeps what the
    // guest wrote since: no second revert.
    expect(reverted.spec?.powerState).toBe(PowerState.OFF);
    await page.getByRole("button", { name: "Power on" }).click();
    await page.locator('[data-field="power"]', { hasText: "On" }).waitFor({ timeout: 15_000 });
    const on = await getVm("default", "web-1");
    expect(on.spec?.powerState).toBe(PowerState.ON);
    expect(on.spec?.snapshot?.revertToRef?.name).toBe("before-change");
    expect(on.metadata?.generation).toBeGreaterThan(reverted.metadata?.generation ?? 0n);
    expect(on.status?.revertedGeneration).toBe(reverted.metadata?.generation);
    expect(await snapshotReverts()).toBe(1);

    // Reverting to it again: the console clears the revert, waits for the
    // manager to forget it, and names the snapshot again.
    await snapshot.getByRole("button", { name: "Revert" }).click();
    await confirm.getByRole("button", { name: "Revert" }).click();
    await page.getByText("Revert to before-change: asked").waitFor({ timeout: 15_000 });
    const again = await eventually(async () => {
      const vm = await getVm("default", "web-1");
      return (vm.status?.revertedGeneration ?? 0n) > (on.metadata?.generation ?? 0n) && vm;
    }, "reverted again");
    expect(again.spec?.snapshot?.revertToRef?.name).toBe("before-change");
    expect(again.status?.revertedTo).toBe("before-change");
    expect(await snapshotReverts()).toBe(2);

    await snapshot.getByRole("button", { name: "Delete" }).click();
    await confirm.getByRole("button", { name: "Delete" }).click();
    await snapshot.waitFor({ state: "detached", timeout: 15_000 });
    const left = await api.list({ kind: Kind.VM_SNAPSHOT, namespace: "default" }, admin);
    expect(left.resources).toEqual([]);
    await page.close();
  });

  it("deletes a VM from its page once its name is typed, and its row goes from the fleet live", async () => {
    await stack.vrtg(["apply", "-f", "-"], vmManifest("scratch-1", "default", "scratch"));
    // Another tab on the fleet, which sees the row go without a reload.
    const fleet = await browser.context.newPage();
    await logIn(fleet, tokens.admin, "admin");
    await row(fleet, "default/scratch-1")
      .locator('[data-field="power"]', { hasText: "On" })
      .waitFor({ timeout: 15_000 });
    await fleet.evaluate(() => Object.assign(window, { stillTheSamePage: true }));

    const page = await browser.context.newPage();
    await logIn(page, tokens.admin, "admin");
    await row(page, "default/scratch-1").click();
    await page.getByRole("heading", { name: "default/scratch-1" }).waitFor();
    await page.getByRole("button", { name: "Delete VM" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete default/scratch-1?" });
    const confirm = dialog.getByRole("button", { name: "Delete this VM" });
    await expect(confirm.isDisabled()).resolves.toBe(true);
    await dialog.getByLabel("confirmation").fill("scratch");
    await expect(confirm.isDisabled()).resolves.toBe(true);
    // Enter with the name half typed deletes nothing either.
    await dialog.getByLabel("confirmation").press("Enter");
    await expect(dialog.isVisible()).resolves.toBe(true);
    await dialog.getByLabel("confirmation").fill("scratch-1");
    await page.screenshot({ path: join(screenshots, "vm-delete.png") });
    await confirm.click();

    await page.waitForURL(`${stack.manager.url}/console/`);
    await page.getByTestId("vm-count").waitFor();
    await row(page, "default/scratch-1").waitFor({ state: "detached", timeout: 15_000 });
    await row(fleet, "default/scratch-1").waitFor({ state: "detached", timeout: 15_000 });
    await expect(
      fleet.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
    ).resolves.toBe(true);
    await expect(
      api.get({ kind: Kind.VIRTUAL_MACHINE, namespace: "default", name: "scratch-1" }, admin),
    ).rejects.toMatchObject({ code: Code.NotFound });

    // Its page, opened by its address, says it is gone and leads back to the fleet.
    await page.goto(`${stack.manager.url}/console/vms/default/scratch-1`);
    await page.getByRole("heading", { name: "default/scratch-1" }).waitFor();
    await page.getByText("No such VM (or it is gone).").waitFor();
    await expect(page.getByRole("button", { name: "Delete VM" }).count()).resolves.toBe(0);
    await page.getByRole("link", { name: "← Fleet" }).click();
    await page.waitForURL(`${stack.manager.url}/console/`);
    await fleet.close();
    await page.close();
  });

  it("shows each provider's health, circuit and capabilities, and links the pages together", async () => {
    // A Provider whose endpoint nothing listens on: the manager's probes fail and open its circuit.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const gone = create(ProviderSchema, {
      metadata: { name: "gone", namespace: "default" },
      spec: { type: ProviderType.MOCK, endpoint: `http://127.0.0.1:${port}` },
    });
    await api.apply({ resource: { kind: { case: "provider", value: gone } } }, admin);

    const page = await browser.context.newPage();
    await logIn(page, tokens.admin, "admin");
    await page
      .getByRole("navigation", { name: "pages" })
      .getByRole("link", { name: "Providers" })
      .click();
    expect(page.url()).toBe(`${stack.manager.url}/console/providers`);
    const card = (key: string) => page.locator(`[data-provider="${key}"]`);
    const field = (key: string, name: string) => card(key).locator(`[data-field="${name}"]`);
    await field("default/mock", "phase").getByText("Ready").waitFor();
    const { resource } = await api.get(
      { kind: Kind.PROVIDER, namespace: "default", name: "mock" },
      admin,
    );
    const status = resource?.kind.case === "provider" ? resource.kind.value.status : undefined;
    expect(status?.version).toBeTruthy();
    await expect(field("default/mock", "circuit").textContent()).resolves.toBe("Closed");
    await expect(field("default/mock", "version").textContent()).resolves.toBe(status?.version);
    await expect(field("default/mock", "vms").textContent()).resolves.toBe("2");
    await expect(field("default/mock", "capabilities").textContent()).resolves.toContain(
      "Snapshots",
    );
    await card("default/mock").getByText("Declared by the provider").click();
    await card("default/mock").getByRole("row", { name: "memorySnapshots yes" }).waitFor();
    await field("team-a/mock", "phase").getByText("Ready").waitFor();

    await field("default/gone", "phase").getByText("Unavailable").waitFor({ timeout: 15_000 });
    await field("default/gone", "circuit").getByText("Open").waitFor({ timeout: 15_000 });
    await expect(field("default/gone", "message").textContent()).resolves.toMatch(/\S/);
    await page.screenshot({ path: join(screenshots, "providers.png"), fullPage: true });

    // Fleet, a VM, its provider, and back, without a reload.
    await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));
    await page
      .getByRole("navigation", { name: "pages" })
      .getByRole("link", { name: "Fleet" })
      .click();
    await row(page, "default/web-2").click();
    await page.getByRole("heading", { name: "default/web-2" }).waitFor();
    await page.getByRole("link", { name: "mock", exact: true }).click();
    await field("default/mock", "phase").waitFor();
    expect(page.url()).toBe(`${stack.manager.url}/console/providers`);
    await page.goBack();
    await page.getByRole("heading", { name: "default/web-2" }).waitFor();
    await expect(
      page.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
    ).resolves.toBe(true);
    await api.delete({ kind: Kind.PROVIDER, namespace: "default", name: "gone" }, admin);
    await page.close();
  });

  it("shows a viewer no action, and the manager refuses the viewer's forged actions", async () => {
    // A snapshot of db-1, whose row the viewer sees without its actions.
    await api.apply(
      {
        resource: {
          kind: {
            case: "vmSnapshot",
            value: create(VMSnapshotSchema, {
              metadata: { name: "nightly", namespace: "team-a" },
              spec: { vmRef: { name: "db-1" } },
            }),
          },
        },
      },
      admin,
    );
    const page = await browser.context.newPage();
    await logIn(page, tokens.viewer, "vic");
    await row(page, "team-a/db-1").click();
    await page.getByText("Read only: your role may not change this VM.").waitFor();
    await page
      .getByText("Read only: your role may not take, revert or delete snapshots.")
      .waitFor();
    await page
      .locator('[data-snapshot="nightly"] [data-field="phase"]', { hasText: "Ready" })
      .waitFor({ timeout: 15_000 });
    for (const name of [
      "Power on",
      "Power off",
      "Shut down",
      "Reboot",
      "Take snapshot",
      "Revert",
      "Delete",
      "Delete VM",
    ])
      await expect(page.getByRole("button", { name }).count()).resolves.toBe(0);
    await expect(page.getByLabel("snapshot name").count()).resolves.toBe(0);
    await page.screenshot({ path: join(screenshots, "vm-viewer.png"), fullPage: true });

    // What hand-made requests from the viewer's tab get: PERMISSION_DENIED, nothing changed.
    const forgedApply = async (resource: ApplyRequest["resource"]) => {
      const body = JSON.stringify(
        toJson(ApplyRequestSchema, create(ApplyRequestSchema, { resource })),
      );
      return page.evaluate(async (request) => {
        const response = await fetch("/virtrigaud.manager.v1.ManagerService/Apply", {
          method: "POST",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${Object.values(sessionStorage)[0] ?? ""}`,
          },
          body: request,
        });
        return { status: response.status, body: (await response.json()) as { code?: string } };
      }, body);
    };
    const refused = { status: 403, body: expect.objectContaining({ code: "permission_denied" }) };
    const vm = await getVm("team-a", "db-1");
    if (vm.spec) vm.spec.powerState = PowerState.OFF;
    await expect(
      forgedApply(create(ResourceSchema, { kind: { case: "virtualMachine", value: vm } })),
    ).resolves.toEqual(refused);
    expect((await getVm("team-a", "db-1")).spec?.powerState).toBe(PowerState.ON);

    const forgedSnapshot = create(VMSnapshotSchema, {
      metadata: { name: "forged", namespace: "team-a" },
      spec: { vmRef: { name: "db-1" } },
    });
    await expect(
      forgedApply(create(ResourceSchema, { kind: { case: "vmSnapshot", value: forgedSnapshot } })),
    ).resolves.toEqual(refused);
    const snapshots = await api.list({ kind: Kind.VM_SNAPSHOT, namespace: "team-a" }, admin);
    expect(snapshots.resources.map((r) => r.kind.value?.metadata?.name)).toEqual(["nightly"]);
    await page.close();
  });
});
