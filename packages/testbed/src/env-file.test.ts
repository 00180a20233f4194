import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readEnvFile } from "./env-file.js";

describe("readEnvFile", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "vrtg-envfile-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads back values bash quoted with printf %q, spaces and shell metacharacters kept, other prefixes and the caller's environment left out", () => {
    const file = join(dir, "bed.env");
    const tricky = `/tmp/a dir/it's $HOME; "x" \`y\``;
    // What tools/testbed/lib.sh's write_env does: export NAME=%q per variable.
    execFileSync("bash", [
      "-c",
      'printf "export %s=%q\\n" VIRTRIGAUD_A "$1" VIRTRIGAUD_B 42 OTHER_C no > "$2"',
      "_",
      tricky,
      file,
    ]);
    // Under tools/test.sh every test bed's variables are in the environment
    // too (jest's own process.env cannot put them there: it is the sandbox's
    // copy); none of them is the file's.
    expect(readEnvFile(file, "VIRTRIGAUD_")).toEqual({ VIRTRIGAUD_A: tricky, VIRTRIGAUD_B: "42" });
  });
});
