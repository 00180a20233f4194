import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, expect, it } from "@jest/globals";
import { loadCredentials } from "./load-credentials.js";
import { Secret } from "./secret.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it("reads a directory of files, dropping one trailing newline, with files over the environment", async () => {
  dir = mkdtempSync(join(tmpdir(), "creds-"));
  writeFileSync(join(dir, "username"), "admin\n");
  writeFileSync(join(dir, "password"), "p@ss word\n");
  writeFileSync(join(dir, "tls.crt"), "-----BEGIN CERTIFICATE-----\n...\n");
  const credentials = await loadCredentials({
    dir,
    env: { PROVIDER_USERNAME: "ignored", PROVIDER_TOKEN: "tok" },
  });
  expect(credentials.username).toBe("admin");
  expect(credentials.password?.reveal()).toBe("p@ss word");
  expect(credentials.token?.reveal()).toBe("tok");
  expect(credentials.tlsCert).toBe("-----BEGIN CERTIFICATE-----\n...\n");
  expect(credentials.tlsKey).toBeUndefined();
});

it("falls back to the environment under a prefix", async () => {
  const credentials = await loadCredentials({
    envPrefix: "VSPHERE_",
    env: { VSPHERE_USERNAME: "u", VSPHERE_PASSWORD: "p" },
  });
  expect(credentials.username).toBe("u");
  expect(credentials.password?.reveal()).toBe("p");
});

it("keeps a secret out of strings, JSON and inspection", () => {
  const secret = new Secret("hunter2");
  expect(String(secret)).toBe("[redacted]");
  expect([secret].join("")).toBe("[redacted]");
  expect(JSON.stringify({ password: secret })).toBe('{"password":"[redacted]"}');
  expect(inspect({ secret })).not.toContain("hunter2");
  expect(secret.reveal()).toBe("hunter2");
});
