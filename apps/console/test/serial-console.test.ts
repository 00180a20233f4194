import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
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

// The serial console page in Chromium: xterm.js through the manager's relay to
// provider-mock's serial console. What is typed and what is pasted runs; a
// viewer has no console.

describe("the serial console in the browser", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-serial-"));
  let stack: ConsoleStack;
  let browser: TestBrowser;

  const logIn = async (page: Page, token: string, user: string) => {
    await page.goto(`${stack.manager.url}/console/`);
    await page.getByLabel("token").fill(token);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("user").textContent()).resolves.toBe(user);
  };
  /** The terminal's screen, a line per row, as xterm.js's DOM renderer draws it. */
  const screen = (page: Page) =>
    page.evaluate(() =>
      Array.from(document.querySelectorAll('[data-testid="serial-console"] .xterm-rows > div'))
        .map((row) => (row.textContent ?? "").replace(/\u00a0/g, " ").trimEnd())
        .join("\n"),
    );
  const showing = async (page: Page, text: string) => {
    const deadline = Date.now() + 15_000;
    while (!(await screen(page)).includes(text)) {
      if (Date.now() > deadline)
        throw new Error(`the console shows no ${JSON.stringify(text)}: ${await screen(page)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    stack = await startConsoleStack(dir);
    await stack.vrtg(["apply", "-f", "-"], stackManifest(stack.mock.url, "default"));
    await stack.vrtg(
      ["apply", "-f", "-"],
      [
        viewerBinding,
        vmManifest("web-1", "default", "web"),
        vmManifest("web-off", "default", "web").replace("powerState: On", "powerState: Off"),
      ].join("---\n"),
    );
    browser = await startBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opens the VM's serial console: a typed command and a pasted one run", async () => {
    const page = await browser.context.newPage();
    await logIn(page, tokens.admin, "admin");
    await page.goto(`${stack.manager.url}/console/vms/default/web-1`);
    await page.locator('[data-field="power"]', { hasText: "On" }).waitFor();
    await page.getByRole("button", { name: "Serial console" }).click();
    await page.getByTestId("console-status").getByText("Connected.").waitFor();
    await showing(page, "mock serial console of web-1");

    // Keys go where the focus is: the terminal, as a person would click it first.
    await page.getByTestId("serial-console").click();
    await page.keyboard.type("echo typed in the browser");
    await page.keyboard.press("Enter");
    await showing(page, "echo typed in the browser\ntyped in the browser\nweb-1$");

    // A paste reaches the terminal as the browser gives it: through xterm.js's textarea.
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.setData("text/plain", "echo pasted text\r");
      document
        .querySelector('[data-testid="serial-console"] textarea')
        ?.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
    });
    await showing(page, "echo pasted text\npasted text\nweb-1$");
    await page.screenshot({ path: join(screenshots, "serial-console.png") });

    await page.getByRole("button", { name: "Close serial console" }).click();
    await expect(page.getByTestId("serial-console").count()).resolves.toBe(0);
    // The manager ends the console when the page closes its socket, a moment later.
    const closedBy = Date.now() + 10_000;
    while (!stack.manager.logs.some((l) => l["msg"] === "console closed") && Date.now() < closedBy)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stack.manager.logs).toContainEqual(
      expect.objectContaining({ msg: "console closed", vm: "default/web-1", code: 1000 }),
    );
    await page.close();
  });

  it("sizes the terminal to the page and gives the console each size: stty size follows the viewport", async () => {
    const page = await browser.context.newPage();
    await logIn(page, tokens.admin, "admin");
    await page.goto(`${stack.manager.url}/console/vms/default/web-1`);
    await page.getByRole("button", { name: "Serial console" }).click();
    await page.getByTestId("console-status").getByText("Connected.").waitFor();
    await showing(page, "web-1$");
    /** The terminal's size as the page shows it: "COLS × ROWS". */
    const shownSize = async () => {
      const [cols = 0, rows = 0] = ((await page.getByTestId("terminal-size").textContent()) ?? "")
        .split(" × ")
        .map(Number);
      return { cols, rows };
    };
    /** The console's `stty size` answers the page's size, rows first. */
    const sttyAnswers = async ({ cols, rows }: { cols: number; rows: number }) => {
      await page.getByTestId("serial-console").click();
      await page.keyboard.type("stty size");
      await page.keyboard.press("Enter");
      await showing(page, `stty size\n${rows} ${cols}\nweb-1$`);
    };
    const wide = await shownSize();
    // The window's 1200 x 700 pixels hold more than the 80 x 24 of a terminal left alone.
    expect(wide.cols).toBeGreaterThan(100);
    expect(wide.rows).toBeGreaterThan(10);
    await sttyAnswers(wide);
    await page.screenshot({ path: join(screenshots, "serial-console-size.png") });

    await page.setViewportSize({ width: 800, height: 600 });
    const deadline = Date.now() + 10_000;
    let narrow = await shownSize();
    while (narrow.cols >= wide.cols && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      narrow = await shownSize();
    }
    expect(narrow.cols).toBeLessThan(wide.cols);
    expect(narrow.rows).toBeLessThan(wide.rows);
    await sttyAnswers(narrow);
    await page.close();
  });

  it("says why the console of a VM that is not running did not open, never 'Connected'", async () => {
    const page = await browser.context.newPage();
    await logIn(page, tokens.admin, "admin");
    await page.goto(`${stack.manager.url}/console/vms/default/web-off`);
    await page.locator('[data-field="power"]', { hasText: "Off" }).waitFor();
    // Every status the page shows, as it shows it.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { statuses: string[] }).statuses = seen;
      new MutationObserver(() => {
        const status = document.querySelector('[data-testid="console-status"]');
        if (status?.textContent) seen.push(status.textContent);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByRole("button", { name: "Serial console" }).click();
    const status = page.getByTestId("console-status");
    await status.filter({ hasText: /^The console was closed: .*is not running\.$/ }).waitFor();
    await expect(status.getAttribute("role")).resolves.toBe("alert");
    const statuses = await page.evaluate(
      () => (window as unknown as { statuses: string[] }).statuses,
    );
    expect(statuses).not.toContain("Connected.");
    await expect(page.getByTestId("serial-console").isHidden()).resolves.toBe(true);
    await page.close();
  });

  it("offers a viewer no serial console", async () => {
    const page = await browser.context.newPage();
    await logIn(page, tokens.viewer, "vic");
    await page.goto(`${stack.manager.url}/console/vms/default/web-1`);
    await page.locator('[data-field="power"]', { hasText: "On" }).waitFor();
    await page.getByText("No console: your role may not open this VM's console.").waitFor();
    await expect(page.getByRole("button", { name: "Serial console" }).count()).resolves.toBe(0);
    await page.close();
  });
});
