import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

// Debian's Chromium, headless, with nothing that reaches beyond loopback
// (shared/TESTBED.md): no background networking, updates, sync or QUIC.
const flags = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A headless Chromium with a fresh profile of its own, removed when it closes. */
export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts the Chromium the chromium test bed found (VIRTRIGAUD_CHROMIUM) with
 * a new --user-data-dir.
 *
 * @throws Error when the test bed's environment is missing.
 */
export async function startBrowser(): Promise<TestBrowser> {
  const executablePath = process.env["VIRTRIGAUD_CHROMIUM"];
  if (!executablePath)
    throw new Error("VIRTRIGAUD_CHROMIUM is unset: run tools/testbed/up.sh chromium");
  const profile = mkdtempSync(join(tmpdir(), "console-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: flags,
    viewport: { width: 1200, height: 700 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
