// Tests of the test beds' shared helpers (lib.sh). Run: node --test tools/testbed/lib.test.mjs
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const lib = join(dirname(fileURLToPath(import.meta.url)), "lib.sh");

/** What `free_port` from lib.sh prints, run by bash in environment `env`. */
function freePort(env) {
  const state = mkdtempSync(join(tmpdir(), "testbed-lib-"));
  try {
    return execFileSync("bash", ["-c", '. "$1" && free_port', "_", lib], {
      encoding: "utf8",
      env: { ...env, VIRTRIGAUD_TESTBED: state },
      stdio: ["ignore", "pipe", "inherit"],
    });
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

function assertPort(out) {
  assert.match(out, /^[0-9]+\n$/);
  const port = Number(out);
  assert.ok(port > 0 && port < 65536, `port ${port} out of range`);
}

// nx sets FORCE_COLOR for its tasks, and console.log then colours numbers: an
// env file once held "\e[33m35569\e[39m" and every SSH test reached port NaN.
for (const level of ["1", "3"]) {
  test(`free_port prints a bare port number with FORCE_COLOR=${level}, as under nx`, () => {
    assertPort(freePort({ ...process.env, FORCE_COLOR: level }));
  });
}

test("free_port prints a bare port number without FORCE_COLOR", () => {
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  assertPort(freePort(env));
});
