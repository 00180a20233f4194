import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";
import type { Page } from "playwright-core";
import { type TestBrowser, startBrowser } from "./browser";
import { type ConsoleStack, startConsoleStack, tokens } from "./stack";

const run = promisify(execFile);
const screenshots = fileURLToPath(new URL("../test-results/", import.meta.url));
const libvirtBin = fileURLToPath(new URL("../../provider-libvirt/dist/main.js", import.meta.url));

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tools/testbed/up.sh libvirt`);
  return value;
}

// The graphical console in Chromium: noVNC through the manager's relay to
// provider-libvirt, which reaches a real QEMU domain's VNC display through a
// TCP channel of its SSH connection. The domain boots a blank disk, so its
// screen is the BIOS's: the canvas must show it, not stay blank.

describe("the VM's screen in the browser", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-vnc-"));
  const suffix = randomBytes(3).toString("hex");
  const name = `screen-${suffix}`;
  const pool = `vrtg-console-vnc-${suffix}`;
  let poolDir = "";
  let stack: ConsoleStack;
  let libvirt: ProviderProcess;
  let browser: TestBrowser;
  const virsh = (...args: string[]) =>
    run("virsh", ["-q", "-c", env("VIRTRIGAUD_LIBVIRT_URI"), ...args]);

  /** How many distinct colours the screen's canvas shows. */
  const colours = (page: Page) =>
    page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="vnc-screen"] canvas');
      const context = canvas?.getContext("2d");
      if (!canvas || !context || !canvas.width || !canvas.height) return 0;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      const seen = new Set<number>();
      for (let i = 0; i < data.length; i += 4)
        seen.add(((data[i] ?? 0) << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0));
      return seen.size;
    });

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    poolDir = join(env("VIRTRIGAUD_LIBVIRT_DIR"), "console-vnc", suffix);
    mkdirSync(poolDir, { recursive: true });
    const blank = join(poolDir, "..", `blank-${suffix}.qcow2`);
    await run("qemu-img", ["create", "-q", "-f", "qcow2", blank, "64M"]);
    libvirt = await startProviderProcess({
      args: [
        libvirtBin,
        "--insecure",
        "--listen",
        "127.0.0.1:0",
        "--ops-listen",
        "127.0.0.1:0",
        "--ssh-host",
        env("VIRTRIGAUD_LIBVIRT_SSH_HOST"),
        // Sessions of this port run in libvirtd's namespaces, where QEMU's VNC listens.
        "--ssh-port",
        env("VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT"),
        "--ssh-user",
        env("VIRTRIGAUD_LIBVIRT_SSH_USER"),
        "--ssh-key",
        env("VIRTRIGAUD_LIBVIRT_SSH_KEY"),
        "--ssh-known-hosts",
        env("VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS"),
        "--libvirt-uri",
        env("VIRTRIGAUD_LIBVIRT_URI"),
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
metadata: {name: tiny}
spec: {cpu: 1, memory: 128Mi, firmware: BIOS}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: blank}
spec: {source: {libvirt: {path: "${blank}"}}}
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
  classRef: {name: tiny}
  imageRef: {name: blank}
  networks: [{name: nat}]
  powerState: On
`,
    );
    browser = await startBrowser();
  });

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
  });

  it("shows the domain's screen through noVNC", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.manager.url}/console/`);
    await page.getByLabel("token").fill(tokens.admin);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByTestId("user").getByText("admin").waitFor();
    await page.goto(`${stack.manager.url}/console/vms/default/${name}`);
    await page.locator('[data-field="power"]', { hasText: "On" }).waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Screen", exact: true }).click();
    await page.getByTestId("screen-status").getByText("Connected.").waitFor();
    const deadline = Date.now() + 30_000;
    while ((await colours(page)) < 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 250));
    await page.screenshot({ path: join(screenshots, "vnc-screen.png") });
    expect(await colours(page)).toBeGreaterThan(1);
    // Drawn where it can be seen, not only into the canvas's buffer.
    const shown = await page.locator('[data-testid="vnc-screen"] canvas').boundingBox();
    expect(shown?.height).toBeGreaterThan(200);
    await page.getByRole("button", { name: "Ctrl-Alt-Del" }).click();
    await page.getByRole("button", { name: "Close screen" }).click();
    await expect(page.getByTestId("vnc-screen").count()).resolves.toBe(0);
    await page.close();
  });
});
