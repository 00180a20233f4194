import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * The PostgreSQL test bed's server URL: from the environment when
 * tools/test.sh (or a shell that sourced postgres.env) set it, else from the
 * env file tools/testbed/up.sh postgres writes after bringing it up.
 *
 * @throws Error when the test bed cannot start.
 */
export function postgresServerUrl(): string {
  const fromEnv = process.env["VIRTRIGAUD_TEST_POSTGRES_URL"];
  if (fromEnv) return fromEnv;
  const testbed = process.env["VIRTRIGAUD_TESTBED"] ?? join(repoRoot, ".testbed");
  execFileSync(join(repoRoot, "tools/testbed/up.sh"), ["postgres"], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, VIRTRIGAUD_TESTBED: testbed },
  });
  const url = execFileSync(
    "bash",
    ["-c", '. "$1"; printf %s "$VIRTRIGAUD_TEST_POSTGRES_URL"', "_", join(testbed, "postgres.env")],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  if (!url) throw new Error("the postgres test bed sets no VIRTRIGAUD_TEST_POSTGRES_URL");
  return url;
}

/** A fresh database on the server for one run, and how to drop it. */
export function createBenchDatabase(serverUrl: string): { url: string; drop: () => void } {
  const name = `bench_manager_${randomBytes(6).toString("hex")}`;
  execFileSync("psql", [serverUrl, "-qc", `CREATE DATABASE ${name}`], { stdio: "inherit" });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      execFileSync("psql", [serverUrl, "-qc", `DROP DATABASE ${name} WITH (FORCE)`], {
        stdio: "inherit",
      }),
  };
}
