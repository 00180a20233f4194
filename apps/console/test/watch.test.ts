import { mkdtempSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import {
  Kind,
  ManagerService,
  ProviderSchema,
  ProviderType,
  VMSnapshotSchema,
} from "@virtrigaud/proto/manager";
import type { Page } from "playwright-core";
import { type TestBrowser, startBrowser } from "./browser";
import { managerCalls, newCountingPage } from "./counting-page";
import { type ConsoleStack, startConsoleStack, stackManifest, tokens, vmManifest } from "./stack";

const admin = { headers: { authorization: `Bearer ${tokens.admin}` } };
/** Longer than two rounds of the 2 s and 1 s timers these pages polled with before. */
const quietMs = 4500;

describe("the providers page and a VM's snapshots, live from the Watch stream rather than polled", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-watch-"));
  let stack: ConsoleStack;
  let browser: TestBrowser;
  let api: ReturnType<typeof createServiceClient<typeof ManagerService>>;

  const logIn = async (page: Page) => {
    await page.goto(`${stack.manager.url}/console/`);
    await page.getByLabel("token").fill(tokens.admin);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("user").textContent()).resolves.toBe("admin");
  };

  beforeAll(async () => {
    stack = await startConsoleStack(dir);
    api = createServiceClient(ManagerService, stack.manager.url);
    await stack.vrtg(
      ["apply", "-f", "-"],
      [stackManifest(stack.mock.url, "default"), vmManifest("web-1", "default", "web")].join(
        "---\n",
      ),
    );
    browser = await startBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows a Provider another client adds, its health turning, and its removal, with no List after the first", async () => {
    const page = await newCountingPage(browser.context);
    await logIn(page);
    await page
      .getByRole("navigation", { name: "pages" })
      .getByRole("link", { name: "Providers" })
      .click();
    const field = (key: string, name: string) =>
      page.locator(`[data-provider="${key}"] [data-field="${name}"]`);
    await field("default/mock", "phase").getByText("Ready").waitFor();
    const lists = await managerCalls(page, "List");
    const opened = Date.now();

    // An endpoint nothing listens on: the manager's probes fail.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const gone = create(ProviderSchema, {
      metadata: { name: "gone", namespace: "default" },
      spec: { type: ProviderType.MOCK, endpoint: `http://127.0.0.1:${port}` },
    });
    await api.apply({ resource: { kind: { case: "provider", value: gone } } }, admin);
    await field("default/gone", "phase").getByText("Unavailable").waitFor({ timeout: 15_000 });
    await api.delete({ kind: Kind.PROVIDER, namespace: "default", name: "gone" }, admin);
    await page.locator('[data-provider="default/gone"]').waitFor({ state: "detached" });

    await page.waitForTimeout(Math.max(0, quietMs - (Date.now() - opened)));
    await expect(managerCalls(page, "List")).resolves.toBe(lists);
    await page.close();
  });

  it("shows a snapshot another client takes, its phase, and its deletion on the VM's page, with no List after the first", async () => {
    const page = await newCountingPage(browser.context);
    await logIn(page);
    await page.locator('[data-vm="default/web-1"]').click();
    await page.getByRole("heading", { name: "default/web-1" }).waitFor();
    await page.getByText("No snapshots.").waitFor();
    const lists = await managerCalls(page, "List");
    const opened = Date.now();

    const snapshot = create(VMSnapshotSchema, {
      metadata: { name: "nightly", namespace: "default" },
      spec: { vmRef: { name: "web-1" } },
    });
    await api.apply({ resource: { kind: { case: "vmSnapshot", value: snapshot } } }, admin);
    const row = page.locator('[data-snapshot="nightly"]');
    await row.locator('[data-field="phase"]', { hasText: "Ready" }).waitFor({ timeout: 15_000 });
    await api.delete({ kind: Kind.VM_SNAPSHOT, namespace: "default", name: "nightly" }, admin);
    await row.waitFor({ state: "detached", timeout: 15_000 });

    await page.waitForTimeout(Math.max(0, quietMs - (Date.now() - opened)));
    await expect(managerCalls(page, "List")).resolves.toBe(lists);
    await page.close();
  });
});
