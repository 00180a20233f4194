import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";
import type { Page, Route } from "playwright-core";
import { type TestBrowser, startBrowser } from "./browser";
import { type ConsoleStack, startConsoleStack, tokens } from "./stack";
import {
  guestTestbed,
  guestUser,
  libvirtHostFlags,
  libvirtTestbed,
  passwordGuestManifests,
  removeLibvirtObjects,
} from "@virtrigaud/testbed";

const screenshots = fileURLToPath(new URL("../test-results/", import.meta.url));
const libvirtBin = fileURLToPath(new URL("../../provider-libvirt/dist/main.js", import.meta.url));

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

  /** The serial terminal's rows in `tab`, as xterm.js's DOM renderer draws them. */
  const terminal = (tab: Page = page) =>
    tab.evaluate(() =>
      Array.from(document.querySelectorAll('[data-testid="serial-console"] .xterm-rows > div'))
        .map((row) => (row.textContent ?? "").replace(/\u00a0/g, " ").trimEnd())
        .join("\n"),
    );
  /** Waits until the terminal shows `text`, pressing Enter every 5 s when `nudge` (getty prints its prompt again). */
  const terminalShows = (text: string | RegExp, timeoutMs: number, nudge = false, tab = page) => {
    let nudged = Date.now();
    return until(
      async () => {
        const shown = await terminal(tab);
        if (typeof text === "string" ? shown.includes(text) : text.test(shown)) return true;
        if (nudge && Date.now() - nudged > 5_000) {
          nudged = Date.now();
          await tab.keyboard.press("Enter");
        }
        return undefined;
      },
      timeoutMs,
      `${String(text)} on the serial console`,
    );
  };

  /** Opens the serial console in `tab` (the VM's page) and logs in at its prompt as the user cloud-init made. */
  const logInOnSerial = async (tab: Page) => {
    await tab.getByRole("button", { name: "Serial console" }).click();
    await tab.getByTestId("console-status").getByText("Connected.").waitFor();
    // Keys go where the focus is: the terminal, as a person would click it first.
    await tab.getByTestId("serial-console").click();
    // The guest boots under TCG: the prompt comes within minutes.
    await terminalShows(`${name} login:`, 8 * 60_000, true, tab);
    await tab.keyboard.type(guestUser);
    await tab.keyboard.press("Enter");
    await terminalShows("Password:", 60_000, false, tab);
    await tab.keyboard.type(password);
    await tab.keyboard.press("Enter");
    await terminalShows(/vrtg@[\w-]+:~\$/, 120_000, false, tab);
  };

  let asked = 0;
  /** Runs `command` in the guest's shell on `tab`'s serial console and answers its output (one line). */
  const askGuest = async (tab: Page, command: string) => {
    // A tag per question tells the answer from older ones; split by quotes in the
    // command line, it is whole only in the answer.
    const tag = `a${++asked}`;
    await tab.keyboard.type(`echo "${tag}""[$(${command} 2>&1 | tr '\\n' ' ')]"`);
    await tab.keyboard.press("Enter");
    const answer = new RegExp(`${tag}\\[([^\\]]*)\\]`);
    await terminalShows(answer, 30_000, false, tab);
    return answer.exec(await terminal(tab))?.[1]?.trim() ?? "";
  };
  /** Asks `command` every second until its answer passes `good`, failing after `timeoutMs` with the last answer. */
  const guestAnswers = async (
    tab: Page,
    command: string,
    good: (answer: string) => boolean,
    timeoutMs = 60_000,
  ) => {
    let last = "";
    try {
      return await until(
        async () => {
          last = await askGuest(tab, command);
          return good(last) ? last : undefined;
        },
        timeoutMs,
        command,
      );
    } catch (err) {
      throw new Error(`${String(err)}; the guest answered last: ${last}`, { cause: err });
    }
  };

  /** A new tab, logged in, at the guest's page. */
  const openGuestPage = async () => {
    const tab = await browser.context.newPage();
    await tab.goto(`${stack.manager.url}/console/`);
    await tab.getByLabel("token").fill(tokens.admin);
    await tab.getByRole("button", { name: "Log in" }).click();
    await tab.getByTestId("user").getByText("admin").waitFor();
    await tab.goto(`${stack.manager.url}/console/vms/default/${name}`);
    return tab;
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
    poolDir = join(libvirtTestbed().dir, "console-guest", suffix);
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
      passwordGuestManifests(guestTestbed(), { name, password, providerUrl: libvirt.url }),
    );
    browser = await startBrowser();
    page = await openGuestPage();
    await page.locator('[data-field="power"]', { hasText: "On" }).waitFor({ timeout: 180_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await libvirt?.stop();
    await removeLibvirtObjects(libvirtTestbed(), { domains: [name], pools: [pool] });
    rmSync(poolDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("shows the guest's login prompt on the serial console, and a command typed after logging in runs in the guest", async () => {
    await logInOnSerial(page);
    await page.keyboard.type("echo $((6 * 7))-from-$(hostname)");
    await page.keyboard.press("Enter");
    await terminalShows(`42-from-${name}`, 60_000);
    expect(await terminal()).not.toContain(password);
    await page.screenshot({ path: join(screenshots, "serial-console-guest.png") });

    // The terminal is as large as the page lets it be. A serial line has no
    // window, so the guest learns the size by asking the terminal (the cursor
    // sent far down right, its position reported), as xterm's `resize` does.
    const shownSize = async () => {
      const text = (await page.getByTestId("terminal-size").textContent()) ?? "";
      const [cols = 0, rows = 0] = text.split(" × ").map(Number);
      return { cols, rows };
    };
    let asks = 0;
    const guestSizeIs = async ({ cols, rows }: { cols: number; rows: number }) => {
      const tag = `size${++asks}`;
      await page.keyboard.type(
        `IFS='[;' read -rs -t 5 -d R -p $'\\e7\\e[999;999H\\e[6n\\e8' _ r c; stty rows $r cols $c; echo "${tag}""=$(stty size)"`,
      );
      await page.keyboard.press("Enter");
      await terminalShows(`${tag}=${rows} ${cols}`, 30_000);
    };
    const wide = await shownSize();
    expect(wide.cols).toBeGreaterThan(100);
    await guestSizeIs(wide);
    await page.setViewportSize({ width: 900, height: 600 });
    const narrow = await until(
      async () => {
        const now = await shownSize();
        return now.cols < wide.cols && now.rows < wide.rows ? now : undefined;
      },
      10_000,
      "the terminal to narrow with the page",
    );
    await guestSizeIs(narrow);
    await page.setViewportSize({ width: 1200, height: 700 });
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
    // The letters are taken back: tty1's login prompt is left empty for the paste.
    for (let i = 0; i < "virtrigaud".length; i++) await page.keyboard.press("Backspace");
    await page.getByRole("button", { name: "Close screen" }).click();
    await expect(page.getByTestId("vnc-screen").count()).resolves.toBe(0);
  });

  it("pastes a login and a command with symbols on the screen, typed as keys with Shift, and the command runs in the guest", async () => {
    // The serial console, in a second tab, watches tty1 and reads what the pasted command wrote.
    const serial = await openGuestPage();
    await logInOnSerial(serial);
    const onTty1 = "ps -o comm= -t tty1";
    await guestAnswers(serial, onTty1, (answer) => answer.startsWith("agetty"));

    await page.getByRole("button", { name: "Screen", exact: true }).click();
    await page.getByTestId("screen-status").getByText("Connected.").waitFor();
    /** Pastes `text` and waits until the page says `outcome` (typing takes 20 ms a character). */
    const paste = async (text: string, outcome: string | RegExp) => {
      await page.getByLabel(/Text to paste/).fill(text);
      await page.getByRole("button", { name: "Paste", exact: true }).click();
      await page.getByTestId("paste-status").getByText(outcome).waitFor();
    };
    await paste(`${guestUser}\n`, `Pasted ${guestUser.length + 1} characters as keys.`);
    await guestAnswers(serial, onTty1, (answer) => answer.startsWith("login")).catch(
      async (err: unknown) => {
        // What tty1 showed instead, to tell a lost key from a refused login.
        await page.screenshot({ path: join(screenshots, "vnc-screen-paste-login.png") });
        throw err;
      },
    );
    // PAM flushes what was typed before its password prompt: the password is
    // pasted once login sleeps with its CPU time still for three looks in a
    // row (asleep reading tty1; its wait channel is hidden from this user).
    const loginState = "cut -d' ' -f3,14,15 /proc/$(pgrep -t tty1 -x login)/stat";
    const looks: string[] = [];
    await guestAnswers(serial, loginState, (answer) => {
      looks.push(answer);
      const last = looks.slice(-3);
      return last.length === 3 && last.every((look) => look === answer && answer.startsWith("S "));
    });
    await paste(`${password}\n`, `Pasted ${password.length + 1} characters as keys.`);
    await guestAnswers(serial, onTty1, (answer) => answer.includes("bash"));

    // A character without a key refuses the whole paste: nothing of it reaches the shell,
    // or the command pasted next would not write exactly its text.
    await paste("echo \u00e9t\u00e9", /^Not pasted: Character 6 \("\u00e9", U\+00E9\) has no key/);
    // Quotes, >, parentheses, _ and capitals need Shift on the guest's US keyboard.
    const written = `pasted-${suffix} (A_Z) #1`;
    const command = `echo "${written}" > /tmp/pasted\n`;
    await paste(command, `Pasted ${command.length} characters as keys.`);
    await guestAnswers(serial, "cat /tmp/pasted", (answer) => answer === written, 30_000);
    await page.screenshot({ path: join(screenshots, "vnc-screen-paste.png") });

    await paste("exit\nexit", "Pasted 9 characters as keys.");
    await serial.close();
    await page.getByRole("button", { name: "Ctrl-Alt-Del" }).click();
    await page.getByRole("button", { name: "Close screen" }).click();
    await expect(page.getByTestId("vnc-screen").count()).resolves.toBe(0);
  });

  it("says so on the screen when its ticket was used already, rather than a blank screen", async () => {
    // The first ticket's answer is kept and given again for the next screen: a used ticket.
    const createTicket = "**/virtrigaud.manager.v1.ManagerService/CreateConsoleTicket";
    let first: Awaited<ReturnType<Route["fetch"]>> | undefined;
    await page.route(createTicket, async (route: Route) => {
      first ??= await route.fetch();
      await route.fulfill({ response: first });
    });
    await page.getByRole("button", { name: "Screen", exact: true }).click();
    await page.getByTestId("screen-status").getByText("Connected.").waitFor();
    await page.getByRole("button", { name: "Close screen" }).click();
    await page.getByRole("button", { name: "Screen", exact: true }).click();
    await page
      .getByTestId("screen-status")
      .getByText(
        "The manager refused this console's ticket (unknown or used): close the console and open it again.",
      )
      .waitFor();
    await expect(page.getByTestId("vnc-screen").isHidden()).resolves.toBe(true);
    await expect(page.getByRole("button", { name: "Paste", exact: true }).count()).resolves.toBe(0);
    await page.screenshot({ path: join(screenshots, "vnc-screen-ticket-refused.png") });
    await page.unroute(createTicket);
    await page.getByRole("button", { name: "Close screen" }).click();
  });
});
