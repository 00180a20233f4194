import { execFileSync } from "node:child_process";

/**
 * The variables named `prefix...` in an env file that tools/testbed/lib.sh's
 * write_env wrote (`export NAME=VALUE`, quoted by printf %q).
 */
export function readEnvFile(file: string, prefix: string): Record<string, string> {
  // bash reads what bash quoted: it sources the file and prints the variables
  // NUL-separated, in an environment of PATH alone so that only the file's show.
  const out = execFileSync("bash", ["-c", '. "$1"; env -0 | grep -z "^$2"', "_", file, prefix], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
  });
  const env: Record<string, string> = {};
  for (const entry of out.split("\0")) {
    const at = entry.indexOf("=");
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}
