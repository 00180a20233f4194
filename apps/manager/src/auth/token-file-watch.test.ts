import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "@jest/globals";
import { createLogger } from "@virtrigaud/contracts";
import { tokenLine } from "./token-file.js";
import { watchTokenFile } from "./token-file-watch.js";

const dir = mkdtempSync(join(tmpdir(), "token-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger({ level: "silent" });

async function within<T>(ms: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

it("sees a file replaced by a rename (as editors and config tools write) within a second", async () => {
  const path = join(dir, "renamed");
  writeFileSync(path, `${tokenLine("a", "alice", [])}\n${tokenLine("b", "bob", ["ops"])}\n`);
  const tokens = watchTokenFile(path, logger);
  try {
    expect(tokens.holderOf("b")).toEqual({ name: "bob", groups: ["ops"] });
    writeFileSync(`${path}.new`, `${tokenLine("a", "alice", [])}\n`);
    renameSync(`${path}.new`, path);
    await within(1000, () => (tokens.holderOf("b") === undefined ? true : undefined));
    expect(tokens.holderOf("a")?.name).toBe("alice");
  } finally {
    tokens.close();
  }
});

it("fails closed: a file that stops parsing or goes missing accepts no token", async () => {
  const path = join(dir, "broken");
  writeFileSync(path, `${tokenLine("a", "alice", [])}\n`);
  const tokens = watchTokenFile(path, logger);
  try {
    writeFileSync(path, `${tokenLine("a", "alice", [])}\nnot a line\n`);
    await within(1000, () => (tokens.holderOf("a") === undefined ? true : undefined));
    writeFileSync(path, `${tokenLine("a", "alice", [])}\n`);
    await within(1000, () => tokens.holderOf("a"));
    rmSync(path);
    await within(1000, () => (tokens.holderOf("a") === undefined ? true : undefined));
  } finally {
    tokens.close();
  }
});
