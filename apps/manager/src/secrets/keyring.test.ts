import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { TempDirs } from "@virtrigaud/testbed";
import { KeyFileError, addKeyToFile, parseKeyring, readKeyring } from "./keyring.js";

const temp = new TempDirs("keyring-");
afterEach(() => temp.removeAll());

const key = Buffer.alloc(32, 7).toString("base64");

describe("readKeyring", () => {
  it("reads the keys in order", () => {
    const ring = parseKeyring(
      `kind: SecretKeys\nkeys:\n  - name: b\n    secret: ${key}\n  - name: a\n    secret: ${key}\n`,
      "f",
    );
    expect(ring.keys.map((k) => k.name)).toEqual(["b", "a"]);
    expect(ring.keys[0]?.key).toHaveLength(32);
  });

  it.each([
    ["not YAML", "keys: [", /is not YAML/],
    ["another kind", `kind: Other\nkeys: []`, /must have kind: SecretKeys/],
    ["no key", "kind: SecretKeys\nkeys: []", /lists no keys/],
    ["a short key", "kind: SecretKeys\nkeys: [{name: a, secret: c2hvcnQ=}]", /32 bytes/],
    ["a bad name", `kind: SecretKeys\nkeys: [{name: A_B, secret: ${key}}]`, /keys\[0\].name/],
    [
      "a name twice",
      `kind: SecretKeys\nkeys: [{name: a, secret: ${key}}, {name: a, secret: ${key}}]`,
      /names the key a twice/,
    ],
  ])("refuses %s, never quoting a key", (_what, text, message) => {
    expect(() => parseKeyring(text, "/k.yaml")).toThrow(message);
    try {
      parseKeyring(text, "/k.yaml");
    } catch (err) {
      expect(err).toBeInstanceOf(KeyFileError);
      expect((err as Error).message).not.toContain(key);
    }
  });

  it("names a missing file", () => {
    expect(() => readKeyring("/nonexistent/keys.yaml")).toThrow(
      "the secret key file /nonexistent/keys.yaml cannot be read: ENOENT",
    );
  });
});

describe("addKeyToFile", () => {
  it("makes the file 0600, then puts each new key first and keeps the others", () => {
    const file = join(temp.make(), "keys.yaml");
    const first = addKeyToFile(file, new Date("2026-01-02T03:04:05Z"));
    expect(first).toBe("key-20260102-030405");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = readKeyring(file).keys;
    const second = addKeyToFile(file, new Date("2026-01-02T03:04:05Z"));
    expect(second).toBe("key-20260102-030405-2");
    const after = readKeyring(file).keys;
    expect(after.map((k) => k.name)).toEqual([second, first]);
    expect(after[1]?.key.equals(before[0]?.key ?? Buffer.alloc(0))).toBe(true);
    expect(after[0]?.key.equals(after[1]?.key ?? Buffer.alloc(0))).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("refuses to add to a file that is not a key file, leaving it as it was", () => {
    const file = join(temp.make(), "other.yaml");
    writeFileSync(file, "hello: world\n");
    expect(() => addKeyToFile(file)).toThrow(KeyFileError);
    expect(readFileSync(file, "utf8")).toBe("hello: world\n");
  });
});
