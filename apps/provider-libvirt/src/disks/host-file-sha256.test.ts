import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { digestIn, fileSha256Command } from "./host-file-sha256.js";

const run = promisify(execFile);
let dir = "";
let file = "";
const bytes = Buffer.from("a disk's bytes\n".repeat(1000));
const expected = createHash("sha256").update(bytes).digest("hex");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "host-sha256-"));
  // A name a shell would split or expand, to show it is passed as an argument.
  file = join(dir, "-a disk; $(false) 'x'.qcow2");
  await writeFile(file, bytes);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the command with only the named tools on its PATH. */
async function hashWith(tools: string[]): Promise<string> {
  const bin = join(dir, `bin-${tools.join("-")}`);
  await run("mkdir", ["-p", bin]);
  for (const tool of tools) {
    const { stdout } = await run("sh", ["-c", 'command -v "$1"', "sh", tool]);
    await symlink(stdout.trim(), join(bin, tool)).catch(() => undefined);
  }
  const [command, ...args] = fileSha256Command(file);
  const { stdout } = await run(`/bin/${command}`, args, { env: { PATH: bin } });
  return stdout;
}

it("hashes with openssl where the host has it", async () => {
  const printed = await hashWith(["openssl", "sha256sum"]);
  expect(printed).toMatch(/^[0-9a-f]{64} \*/);
  expect(digestIn(printed)).toBe(expected);
});

it("falls back to sha256sum where the host has no openssl", async () => {
  const printed = await hashWith(["sha256sum"]);
  expect(printed).toMatch(/^[0-9a-f]{64} {2}/);
  expect(digestIn(printed)).toBe(expected);
});

it("finds the digest sha256sum prints after a backslash for an escaped name", () => {
  expect(digestIn(`\\${expected}  a\\nb\n`)).toBe(expected);
  expect(digestIn("sha256sum: x: No such file or directory\n")).toBeUndefined();
});
