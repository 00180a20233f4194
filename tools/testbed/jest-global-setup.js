// What a package's jest globalSetup calls to have a test bed up: when the
// test bed's environment is absent (a run outside tools/test.sh), it brings
// the test bed up and loads its environment, so integration tests never skip.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Makes sure the test bed `name` (tools/testbed/NAME) is up for this jest run.
 * When `probeVariable` is set, the environment is there already (tools/test.sh
 * exports every test bed's) and nothing happens. Otherwise it runs
 * `tools/testbed/up.sh NAME` and loads `$VIRTRIGAUD_TESTBED/NAME.env` into
 * `process.env`, which jest's workers inherit.
 *
 * The env file is written with `printf %q` (lib.sh's write_env), so bash reads
 * it: one bash process sources it and prints its environment NUL-separated,
 * before and after, and the variables that changed are taken. No value is
 * ever put into a command line.
 *
 * @param {string} name the test bed, as in `tools/testbed/up.sh NAME`
 * @param {string} probeVariable a variable the test bed's env file sets
 * @throws Error when up.sh fails (its output is on the terminal) or the env
 * file does not set `probeVariable`
 */
export function ensureTestbed(name, probeVariable) {
  if (process.env[probeVariable]) return;
  const testbed = process.env.VIRTRIGAUD_TESTBED ?? join(root, ".testbed");
  execFileSync(join(root, "tools/testbed/up.sh"), [name], {
    stdio: "inherit",
    env: { ...process.env, VIRTRIGAUD_TESTBED: testbed },
  });
  Object.assign(process.env, readEnvFile(join(testbed, `${name}.env`)));
  if (!process.env[probeVariable]) {
    throw new Error(
      `tools/testbed/up.sh ${name} did not set ${probeVariable}; run it by hand to see why`,
    );
  }
}

/** Variables bash keeps itself (SHLVL drops when it execs its last command). */
const bashOwn = new Set(["_", "SHLVL", "PWD", "OLDPWD"]);

/**
 * The variables a bash env file sets: sourced with `set -a` in a bash process
 * of a bare environment, which prints its environment before and after; the
 * listings are NUL-separated and end at an empty entry.
 *
 * @param {string} file
 * @returns {Record<string, string>}
 */
function readEnvFile(file) {
  const out = execFileSync(
    "bash",
    ["-c", 'env -0; printf "\\0"; set -a; . "$1"; env -0', "_", file],
    {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      // stdin from /dev/null: on a socket (node's default pipe) bash would read ~/.bashrc.
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const entries = out.split("\0");
  const separator = entries.indexOf("");
  const parse = (list) =>
    new Map(
      list
        .filter((entry) => entry.includes("="))
        .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
    );
  const before = parse(entries.slice(0, separator));
  const after = parse(entries.slice(separator + 1));
  const set = {};
  for (const [key, value] of after) {
    if (!bashOwn.has(key) && before.get(key) !== value) set[key] = value;
  }
  return set;
}
