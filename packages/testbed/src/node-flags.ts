import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The apps that run with Node flags of their own. */
export type FlaggedApp = "manager" | "provider-libvirt" | "provider-vsphere";

/**
 * The Node flags `app` runs with: its package.json's `virtrigaud.nodeFlags`,
 * which its image's entrypoint gives node too (tools/compose/check.sh holds
 * them equal) and tools/run.sh reads, so that a benchmark runs the app as
 * it is deployed.
 */
export function appNodeFlags(app: FlaggedApp): string[] {
  const manifest = JSON.parse(
    readFileSync(join(repoRoot, "apps", app, "package.json"), "utf8"),
  ) as { virtrigaud?: { nodeFlags?: string[] } };
  return manifest.virtrigaud?.nodeFlags ?? [];
}
