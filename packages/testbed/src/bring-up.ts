import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readEnvFile } from "./env-file.js";

/** The repository's root. */
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

type Env = Record<string, string | undefined>;

/**
 * The test beds' variables: the environment's when `ready` says it holds
 * what is needed (tools/test.sh, a jest global setup, or a shell that sourced
 * the env files set them), else those of the env files tools/testbed/up.sh
 * writes after bringing `beds` up afresh (an env file alone may be stale: its
 * daemons do not outlive the machine).
 *
 * @throws Error when a test bed cannot start.
 */
export function testbedEnv(beds: readonly string[], ready: (env: Env) => boolean): Env {
  if (ready(process.env)) return process.env;
  const dir = process.env["VIRTRIGAUD_TESTBED"] ?? join(repoRoot, ".testbed");
  execFileSync(join(repoRoot, "tools/testbed/up.sh"), [...beds], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, VIRTRIGAUD_TESTBED: dir },
  });
  const env: Env = {};
  for (const bed of beds) Object.assign(env, readEnvFile(join(dir, `${bed}.env`), "VIRTRIGAUD_"));
  return env;
}

/** A reader of `env` that names the variable a test bed failed to set. */
export function requiredFrom(env: Env): (name: string) => string {
  return (name) => {
    const value = env[name];
    if (!value) throw new Error(`the test beds set no ${name}: run tools/testbed/up.sh`);
    return value;
  };
}
