import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import { type TestBrowser, startBrowser } from "./browser";
import {
  type ConsoleStack,
  startConsoleStack,
  startMockProvider,
  stackManifest,
  tokens,
  vmManifest,
} from "./stack";

/** Where the screenshots go, as console.test.ts keeps them. */
const screenshots = fileURLToPath(new URL("../test-results/", import.meta.url));

/** The target: another provider-mock, as Provider "kvm". */
const targetProvider = (url: string) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: kvm, namespace: default}
spec: {type: mock, endpoint: "${url}"}
`;

const migration = `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: web-to-kvm, namespace: default}
spec:
  source:
    vmRef: {name: web-1}
  target:
    name: web-kvm
    providerRef: {name: kvm}
    powerOn: true
`;

describe("the migrations pages, in Chromium, with a VM moving between two provider-mocks", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-migrations-"));
  let stack: ConsoleStack;
  let target: ProviderProcess | undefined;
  let browser: TestBrowser;

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    // A 32 MiB boot disk, written to the target 2 MiB at a time with 1.5 s per write:
    // a copy of some seconds, whose progress the manager writes every second.
    stack = await startConsoleStack(dir, { mockArgs: ["--disk-bytes", "32Mi"] });
    target = await startMockProvider(["--fault", "diskImportWrite:delay:delayMs=1500"]);
    await stack.vrtg(
      ["apply", "-f", "-"],
      [
        stackManifest(stack.mock.url, "default"),
        targetProvider(target.url),
        vmManifest("web-1", "default", "web"),
      ].join("---\n"),
    );
    await stack.vrtg(["wait", "vm", "web-1", "--for", "condition=Ready", "--timeout", "30s"]);
    browser = await startBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await target?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists a migration started elsewhere and shows its progress and phases live, to Ready, without a reload", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.manager.url}/console/`);
    await page.getByLabel("token").fill(tokens.admin);
    await page.getByRole("button", { name: "Log in" }).click();
    await page
      .getByRole("navigation", { name: "pages" })
      .getByRole("link", { name: "Migrations" })
      .click();
    expect(page.url()).toBe(`${stack.manager.url}/console/migrations`);
    await page.getByText("No migrations.").waitFor();
    // Gone if the page reloads.
    await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));

    // Another client starts the migration: its row appears.
    await stack.vrtg(["apply", "-f", "-"], migration);
    const row = page.locator('[data-migration="default/web-to-kvm"]');
    await row.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(screenshots, "migrations.png") });
    await row.getByRole("link", { name: "default/web-to-kvm" }).click();
    await page.getByRole("heading", { name: "default/web-to-kvm" }).waitFor();
    expect(page.url()).toBe(`${stack.manager.url}/console/migrations/default/web-to-kvm`);

    // Part of the way: the bar between its ends, bytes of the whole disk, a rate.
    const field = (name: string) => page.locator(`[data-field="${name}"]`);
    await field("phase").getByText("Transferring").waitFor({ timeout: 30_000 });
    await page.waitForFunction(
      () => {
        const bar = document.querySelector<HTMLProgressElement>('progress[data-field="percent"]');
        return bar !== null && bar.value > 0 && bar.value < 100;
      },
      undefined,
      { timeout: 30_000 },
    );
    await expect(field("bytes").textContent()).resolves.toMatch(/ of 32 MiB$/);
    await expect(field("rate").textContent()).resolves.toMatch(/B\/s$/);
    await page.screenshot({ path: join(screenshots, "migration-progress.png"), fullPage: true });

    // To the end.
    await field("phase").getByText("Ready").waitFor({ timeout: 60_000 });
    await expect(field("percent-text").textContent()).resolves.toBe("100%");
    await expect(field("bytes").textContent()).resolves.toBe(" · 32 MiB of 32 MiB");
    await expect(field("completed").textContent()).resolves.toMatch(/\S/);
    await page
      .getByRole("table", { name: "conditions" })
      .getByRole("row", { name: /^Ready True/ })
      .waitFor();
    await expect(field("target").getByRole("link", { name: "web-kvm" }).count()).resolves.toBe(1);
    await page.screenshot({ path: join(screenshots, "migration-ready.png"), fullPage: true });

    await page.goBack();
    await row.locator('[data-field="phase"]', { hasText: "Ready" }).waitFor();
    await expect(
      page.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
    ).resolves.toBe(true);

    // A migration that does not exist, opened by its address: said so, with the way back.
    await page.goto(`${stack.manager.url}/console/migrations/default/never-made`);
    await page.getByRole("heading", { name: "default/never-made" }).waitFor();
    await page.getByText("No such migration (or it is gone).").waitFor();
    await page.getByRole("link", { name: "← Migrations" }).click();
    await page.waitForURL(`${stack.manager.url}/console/migrations`);
    await page.close();
  });
});
