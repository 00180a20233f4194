import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { Kind, ManagerService } from "@virtrigaud/proto/manager";
import type { Page } from "playwright-core";
import { type TestBrowser, startBrowser } from "./browser";
import { managerCalls, newCountingPage } from "./counting-page";
import {
  type ConsoleStack,
  startConsoleStack,
  stackManifest,
  tokens,
  viewerBinding,
} from "./stack";

/** Where the screenshots go, as console.test.ts keeps them. */
const screenshots = fileURLToPath(new URL("../test-results/", import.meta.url));
const admin = { headers: { authorization: `Bearer ${tokens.admin}` } };

/** A VM on the stack's mock, as the editor's sample writes one. */
const vm = (name: string, networkLines = "") => `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: ${name}
  namespace: default
spec:
  providerRef:
    name: mock
  classRef:
    name: small
  imageRef:
    name: debian
  networks:
    - name: default-net
${networkLines}  powerState: "On"
`;

describe("applying YAML from the console's editor, against a manager and provider-mock", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-apply-"));
  let stack: ConsoleStack;
  let browser: TestBrowser;
  let api: ReturnType<typeof createServiceClient<typeof ManagerService>>;

  const countingPage = () => newCountingPage(browser.context);
  const applyCalls = (page: Page) => managerCalls(page, "Apply");
  const logIn = async (page: Page, token: string, user: string) => {
    await page.goto(`${stack.manager.url}/console/`);
    await page.getByLabel("token").fill(token);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("user").textContent()).resolves.toBe(user);
  };
  const openEditor = async (page: Page) => {
    await page
      .getByRole("navigation", { name: "pages" })
      .getByRole("link", { name: "Apply YAML" })
      .click();
    await page.getByRole("textbox", { name: "manifest" }).waitFor();
  };
  /** Replaces the editor's text, as a paste would. */
  const setManifest = async (page: Page, text: string) => {
    await page.getByRole("textbox", { name: "manifest" }).click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(text);
  };
  /** The editor's line that holds the (first) marked problem. */
  const markedLine = (page: Page) =>
    page.locator(".cm-line", { has: page.locator(".cm-lintRange-error") }).first();

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    stack = await startConsoleStack(dir);
    api = createServiceClient(ManagerService, stack.manager.url);
    await stack.vrtg(
      ["apply", "-f", "-"],
      [stackManifest(stack.mock.url, "default"), viewerBinding].join("---\n"),
    );
    browser = await startBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("marks YAML syntax and manifest errors at their line as they are typed, before any call", async () => {
    const page = await countingPage();
    await logIn(page, tokens.admin, "admin");
    await openEditor(page);
    expect(page.url()).toBe(`${stack.manager.url}/console/apply`);
    // The sample VM is there to start from.
    await expect(page.locator(".cm-content").textContent()).resolves.toContain(
      "kind: VirtualMachine",
    );

    await setManifest(
      page,
      vm("typo-1").replace("  classRef:\n    name: small\n", "  classRef: name: small\n"),
    );
    await markedLine(page).waitFor();
    await expect(markedLine(page).textContent()).resolves.toContain("classRef");

    await setManifest(page, vm("typo-1").replace('powerState: "On"', "powerState: Sideways"));
    await markedLine(page).locator(".cm-lintRange-error", { hasText: "Sideways" }).waitFor();
    await expect(markedLine(page).locator(".cm-lintRange-error").textContent()).resolves.toBe(
      "powerState: Sideways",
    );
    // The message beside the line.
    await expect(markedLine(page).locator(".cm-problem-message").textContent()).resolves.toMatch(
      /^spec\.powerState: must be one of /,
    );
    // Apply says why and sends nothing.
    await page.getByRole("button", { name: "Apply" }).click();
    await page
      .getByRole("alert", { name: "problems" })
      .getByText("Line 15: spec.powerState: must be one of")
      .waitFor();
    await expect(applyCalls(page)).resolves.toBe(0);
    await page.close();
  });

  it("shows the manager's refusal at the field it names, then applies the fixed manifest and links the new VM, which the fleet shows", async () => {
    const page = await countingPage();
    await logIn(page, tokens.admin, "admin");
    await openEditor(page);
    // Well-formed, but the manager wants an ipAddress with a prefix.
    await setManifest(page, vm("edited-1", "      prefix: 24\n"));
    await page.getByRole("button", { name: "Apply" }).click();
    const problems = page.getByRole("alert", { name: "problems" });
    await problems
      .getByText("resource.virtual_machine.spec.networks[0].prefix: needs ipAddress")
      .waitFor();
    await expect(problems.textContent()).resolves.toMatch(/^Line 15: /);
    await markedLine(page).waitFor();
    await expect(markedLine(page).locator(".cm-lintRange-error").textContent()).resolves.toBe(
      "prefix: 24",
    );
    await expect(markedLine(page).textContent()).resolves.toBe(
      "      prefix: 24resource.virtual_machine.spec.networks[0].prefix: needs ipAddress",
    );
    await expect(applyCalls(page)).resolves.toBe(1);
    await page.screenshot({ path: join(screenshots, "apply-refused.png"), fullPage: true });
    await expect(
      api.get({ kind: Kind.VIRTUAL_MACHINE, namespace: "default", name: "edited-1" }, admin),
    ).rejects.toMatchObject({ code: Code.NotFound });

    // An edit clears the manager's mark; the fixed manifest is applied.
    await setManifest(page, vm("edited-1"));
    await markedLine(page).waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Apply" }).click();
    const applied = page.locator('[data-applied="default/edited-1"]');
    await applied.getByText("created").waitFor();
    await page.screenshot({ path: join(screenshots, "apply-created.png"), fullPage: true });
    const { resource } = await api.get(
      { kind: Kind.VIRTUAL_MACHINE, namespace: "default", name: "edited-1" },
      admin,
    );
    expect(resource?.kind.case).toBe("virtualMachine");

    await applied.getByRole("link", { name: "default/edited-1" }).click();
    await page.getByRole("heading", { name: "default/edited-1" }).waitFor();
    await page
      .getByRole("navigation", { name: "pages" })
      .getByRole("link", { name: "Fleet" })
      .click();
    await page
      .locator('[data-vm="default/edited-1"] [data-field="power"]', { hasText: "On" })
      .waitFor({ timeout: 15_000 });
    await page.close();
  });

  it("shows a viewer the editor without an Apply button", async () => {
    const page = await browser.context.newPage();
    await logIn(page, tokens.viewer, "vic");
    await openEditor(page);
    await page
      .getByText("Read only: your role may not apply a VirtualMachine in default.")
      .waitFor();
    await expect(page.getByRole("button", { name: "Apply" }).count()).resolves.toBe(0);
    await page.close();
  });
});
