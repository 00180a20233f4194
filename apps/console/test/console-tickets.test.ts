import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Page, Route } from "playwright-core";
import { type TestBrowser, startBrowser } from "./browser";
import { type ConsoleStack, startConsoleStack, stackManifest, tokens, vmManifest } from "./stack";

const screenshots = fileURLToPath(new URL("../test-results/", import.meta.url));

// Console tickets refused, seen from Chromium: a ticket reused, expired or
// presented at another VM's relay path is refused to the page's own
// WebSocket with the reason, no byte of a console through it, and the VM's
// page says why when its ticket is refused instead of a blank terminal. The
// manager's tickets live 2 s here (--console-ticket-ttl).

const ticketTtlMs = 2_000;
const createTicketPath = "**/virtrigaud.manager.v1.ManagerService/CreateConsoleTicket";

describe("console tickets refused, in the browser", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-tickets-"));
  let stack: ConsoleStack;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    stack = await startConsoleStack(dir, {
      managerArgs: ["--console-ticket-ttl", `${ticketTtlMs / 1000}s`],
    });
    await stack.vrtg(["apply", "-f", "-"], stackManifest(stack.mock.url, "default"));
    await stack.vrtg(
      ["apply", "-f", "-"],
      [vmManifest("web-1", "default", "web"), vmManifest("web-2", "default", "web")].join("---\n"),
    );
    browser = await startBrowser();
    page = await browser.context.newPage();
    await page.goto(`${stack.manager.url}/console/`);
    await page.getByLabel("token").fill(tokens.admin);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByTestId("user").getByText("admin").waitFor();
    await page.goto(`${stack.manager.url}/console/vms/default/web-1`);
    await page.locator('[data-field="power"]', { hasText: "On" }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a reused, an expired and another VM's ticket to the page's WebSocket, with the reason and no console byte", async () => {
    const seen = await page.evaluate(async (ttlMs) => {
      /** A ticket from the manager's API (Connect's JSON), as the tab's own token allows. */
      const ticketFor = async (name: string) => {
        const answer = await fetch("/virtrigaud.manager.v1.ManagerService/CreateConsoleTicket", {
          method: "POST",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${sessionStorage.getItem("virtrigaud.console.token") ?? ""}`,
          },
          body: JSON.stringify({ namespace: "default", name, kind: "CONSOLE_KIND_SERIAL" }),
        });
        return (await answer.json()) as { ticket: string; path: string };
      };
      /** Opens the relay at `path` with `ticket`: closed by the page after the first bytes, or by the relay. */
      const open = (path: string, ticket: string) =>
        new Promise<{ opened: boolean; bytes: number; code: number; reason: string }>((resolve) => {
          const url = new URL(path, window.location.origin);
          url.protocol = "ws:";
          url.searchParams.set("ticket", ticket);
          const socket = new WebSocket(url);
          let opened = false;
          let bytes = 0;
          socket.onopen = () => (opened = true);
          socket.onmessage = (event: MessageEvent<Blob>) => {
            bytes += event.data.size;
            socket.close(1000);
          };
          socket.onclose = ({ code, reason }) => resolve({ opened, bytes, code, reason });
        });
      const first = await ticketFor("web-1");
      const used = await open(first.path, first.ticket);
      const reused = await open(first.path, first.ticket);
      const other = await ticketFor("web-1");
      const elsewhere = await open("/console-relay/default/web-2", other.ticket);
      const late = await ticketFor("web-1");
      await new Promise((resolve) => setTimeout(resolve, ttlMs + 500));
      const expired = await open(late.path, late.ticket);
      return { used, reused, elsewhere, expired };
    }, ticketTtlMs);
    expect(seen.used).toMatchObject({ opened: true, code: 1000 });
    expect(seen.used.bytes).toBeGreaterThan(0);
    const refused = (why: string) => ({
      opened: true,
      bytes: 0,
      code: 4401,
      reason: `console ticket refused: ${why}`,
    });
    expect(seen.reused).toEqual(refused("unknown or used"));
    expect(seen.elsewhere).toEqual(refused("for another VM"));
    expect(seen.expired).toEqual(refused("expired"));
  });

  it("says so in the VM's page when its own ticket has expired, and opens the console again", async () => {
    // The ticket's answer is held back past its lifetime: the page presents an expired ticket.
    await page.route(createTicketPath, async (route: Route) => {
      const response = await route.fetch();
      await new Promise((resolve) => setTimeout(resolve, ticketTtlMs + 500));
      await route.fulfill({ response });
    });
    await page.getByRole("button", { name: "Serial console" }).click();
    await page
      .getByTestId("console-status")
      .getByText(
        "The manager refused this console's ticket (expired): close the console and open it again.",
      )
      .waitFor();
    // Said as an error, with no empty terminal below it.
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(
      /refused this console's ticket/,
    );
    await expect(page.getByTestId("serial-console").isHidden()).resolves.toBe(true);
    await page.screenshot({ path: join(screenshots, "serial-console-ticket-refused.png") });
    await page.unroute(createTicketPath);
    await page.getByRole("button", { name: "Close serial console" }).click();
    await page.getByRole("button", { name: "Serial console" }).click();
    await page.getByTestId("console-status").getByText("Connected.").waitFor();
    await page.getByRole("button", { name: "Close serial console" }).click();
  });

  it("says so in the VM's page when its ticket was used already", async () => {
    // The first ticket's answer is kept and given again for the next console: a used ticket.
    let first: Awaited<ReturnType<Route["fetch"]>> | undefined;
    await page.route(createTicketPath, async (route: Route) => {
      first ??= await route.fetch();
      await route.fulfill({ response: first });
    });
    await page.getByRole("button", { name: "Serial console" }).click();
    await page.getByTestId("console-status").getByText("Connected.").waitFor();
    await page.getByRole("button", { name: "Close serial console" }).click();
    await page.getByRole("button", { name: "Serial console" }).click();
    await page
      .getByTestId("console-status")
      .getByText(
        "The manager refused this console's ticket (unknown or used): close the console and open it again.",
      )
      .waitFor();
    await page.unroute(createTicketPath);
    await page.getByRole("button", { name: "Close serial console" }).click();
  });
});
