import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";
import type { Page } from "playwright-core";
import { type TestBrowser, startBrowser } from "./browser";
import { type ConsoleStack, startConsoleStack, tokens } from "./stack";
import { libvirtHostFlags, libvirtTestbed } from "@virtrigaud/testbed";

const run = promisify(execFile);
const screenshots = fileURLToPath(new URL("../test-results/", import.meta.url));
const libvirtBin = fileURLToPath(new URL("../../provider-libvirt/dist/main.js", import.meta.url));

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tools/testbed/up.sh libvirt guest`);
  return value;
}

// Both consoles of a real guest in Chromium: the project's Debian image,
// booted once by provider-libvirt on the libvirt test bed, reached through the
// manager's relay. The serial console (xterm.js) shows the guest's login
// prompt, the user cloud-init made logs in there and a command runs in the
// guest; the screen (noVNC, over a TCP channel of the provider's SSH
// connection to QEMU's VNC display) shows tty1 and changes when keys are sent.

jest.setTimeout(15 * 60_000);

/** Polls `read` every 250 ms until it answers something, failing after `timeoutMs` with `what`. */
async function until<T>(
  read: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("a real guest's consoles in the browser", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-guest-"));
  const suffix = randomBytes(3).toString("hex");
  const name = `guest-${suffix}`;
  const pool = `vrtg-console-guest-${suffix}`;
  /** The guest user's password: typed on the console, never printed. */
  const password = randomBytes(12).toString("hex");
  let poolDir = "";
  let stack: ConsoleStack;
  let libvirt: ProviderProcess;
  let browser: TestBrowser;
  let page: Page;
  const virsh = (...args: string[]) =>
    run("virsh", ["-q", "-c", env("VIRTRIGAUD_LIBVIRT_URI"), ...args]);

  /** The serial terminal's rows, as xterm.js's DOM renderer draws them. */
  const terminal = () =>
    page.evaluate(() =>
      Array.from(document.querySelectorAll('[data-testid="serial-console"] .xterm-rows > div'))
        .map((row) => (row.textContent ?? "").replace(/\u00a0/g, " ").trimEnd())
        .join("\n"),
    );
  /** Waits until the terminal shows `text`, pressing Enter every 5 s when `nudge` (getty prints its prompt again). */
  const terminalShows = (text: string | RegExp, timeoutMs: number, nudge = false) => {
    let nudged = Date.now();
    return until(
      async () => {
        const shown = await terminal();
        if (typeof text === "string" ? shown.includes(text) : text.test(shown)) return true;
        if (nudge && Date.now() - nudged > 5_000) {
          nudged = Date.now();
          await page.keyboard.press("Enter");
        }
        return undefined;
      },
      timeoutMs,
      `${String(text)} on the serial console`,
    );
  };

  /**
   * The screen canvas's distinct colours, and how many of its pixels are not
   * the background (its most common colour): text drawn on it. A blinking
   * cursor changes a few pixels; ten letters, hundreds.
   */
  const screen = () =>
    page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="vnc-screen"] canvas');
      const context = canvas?.getContext("2d");
      if (!canvas || !context || !canvas.width || !canvas.height) return { colours: 0, lit: 0 };
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      const counts = new Map<number, number>();
      for (let i = 0; i < data.length; i += 4) {
        const rgb = ((data[i] ?? 0) << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0);
        counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
      }
      const background = Math.max(...counts.values());
      return { colours: counts.size, lit: data.length / 4 - background };
    });

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    poolDir = join(env("VIRTRIGAUD_LIBVIRT_DIR"), "console-guest", suffix);
    mkdirSync(poolDir, { recursive: true });
    libvirt = await startProviderProcess({
      args: [
        libvirtBin,
        "--insecure",
        "--listen",
        "127.0.0.1:0",
        "--ops-listen",
        "127.0.0.1:0",
        // Sessions of the namespace port run in libvirtd's namespaces, where QEMU's VNC listens.
        ...libvirtHostFlags(libvirtTestbed(), { namespace: true }),
        "--domain-type",
        "qemu",
        "--storage-pool",
        pool,
        "--create-pool-dir",
        poolDir,
      ],
      timeoutMs: 20_000,
    });
    stack = await startConsoleStack(dir);
    await stack.vrtg(
      ["apply", "-f", "-"],
      `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: kvm}
spec: {type: libvirt, endpoint: "${libvirt.url}"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: guest}
spec: {cpu: 1, memory: 512Mi, firmware: BIOS}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: debian}
spec: {source: {libvirt: {path: "${env("VIRTRIGAUD_GUEST_IMAGE")}"}}}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata: {name: nat}
spec: {network: {libvirt: {networkName: ${env("VIRTRIGAUD_LIBVIRT_NETWORK")}}}}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: ${name}}
spec:
  providerRef: {name: kvm}
  classRef: {name: guest}
  imageRef: {name: debian}
  networks: [{name: nat}]
  powerState: On
  userData:
    cloudInit:
      inline: |
        #cloud-config
        hostname: ${name}
        users:
          - name: vrtg
            shell: /bin/bash
            lock_passwd: false
            plain_text_passwd: "${password}"
`,
    );
    browser = await startBrowser();
    page = await browser.context.newPage();
    await page.goto(`${stack.manager.url}/console/`);
    await page.getByLabel("token").fill(tokens.admin);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByTestId("user").getByText("admin").waitFor();
    await page.goto(`${stack.manager.url}/console/vms/default/${name}`);
    await page.locator('[data-field="power"]', { hasText: "On" }).waitFor({ timeout: 180_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await libvirt?.stop();
    await virsh("destroy", name).catch(() => undefined);
    await virsh("undefine", name, "--remove-all-storage").catch(() => undefined);
    await virsh("pool-destroy", pool).catch(() => undefined);
    await virsh("pool-undefine", pool).catch(() => undefined);
    rmSync(poolDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("shows the guest's login prompt on the serial console, and a command typed after logging in runs in the guest", async () => {
    await page.getByRole("button", { name: "Serial console" }).click();
    await page.getByTestId("console-status").getByText("Connected.").waitFor();
    // Keys go where the focus is: the terminal, as a person would click it first.
    await page.getByTestId("serial-console").click();
    // The guest boots under TCG: the prompt comes within minutes.
    await terminalShows(`${name} login:`, 8 * 60_000, true);
    await page.keyboard.type("vrtg");
    await page.keyboard.press("Enter");
    await terminalShows("Password:", 60_000);
    await page.keyboard.type(password);
    await page.keyboard.press("Enter");
    await terminalShows(/vrtg@[\w-]+:~\$/, 120_000);
    await page.keyboard.type("echo $((6 * 7))-from-$(hostname)");
    await page.keyboard.press("Enter");
    await terminalShows(`42-from-${name}`, 60_000);
    expect(await terminal()).not.toContain(password);
    await page.screenshot({ path: join(screenshots, "serial-console-guest.png") });
    await page.keyboard.type("exit");
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Close serial console" }).click();
    await expect(page.getByTestId("serial-console").count()).resolves.toBe(0);
  });

  it("shows the guest's screen through noVNC, and it changes when keys are sent", async () => {
    await page.getByRole("button", { name: "Screen", exact: true }).click();
    await page.getByTestId("screen-status").getByText("Connected.").waitFor();
    // tty1's getty: text on a background, more than one colour.
    const before = await until(
      async () => {
        const now = await screen();
        return now.colours > 1 ? now : undefined;
      },
      60_000,
      "the guest's screen drawn",
    );
    // Drawn where it can be seen, not only into the canvas's buffer.
    const shown = await page.locator('[data-testid="vnc-screen"] canvas').boundingBox();
    expect(shown?.height).toBeGreaterThan(200);
    await page.locator('[data-testid="vnc-screen"] canvas').click();
    // Typed at tty1's login prompt, the letters are echoed on the screen.
    await page.keyboard.type("virtrigaud");
    await until(
      async () => ((await screen()).lit > before.lit + 100 ? true : undefined),
      30_000,
      `the screen to show the letters sent (${before.lit} text pixels before)`,
    );
    await page.screenshot({ path: join(screenshots, "vnc-screen.png") });
    await page.getByRole("button", { name: "Ctrl-Alt-Del" }).click();
    await page.getByRole("button", { name: "Close screen" }).click();
    await expect(page.getByTestId("vnc-screen").count()).resolves.toBe(0);
  });
});
