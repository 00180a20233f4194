import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { stack, vmManifest } from "./fixtures.js";
import { type TestManager, startTestManager } from "./harness.js";
import { vrtg } from "./processes.js";

// Each case runs vrtg as a process a dozen times or more: a second or two
// each on a busy 2-core machine, which jest's 30 s default does not cover.
jest.setTimeout(120_000);

describe("vrtg", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-cli-"));
  let tm: TestManager;
  beforeAll(async () => {
    tm = await startTestManager();
  });
  afterAll(async () => {
    await tm.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (...args: string[]) => vrtg(tm.url, args);

  it("refuses a bad manifest with its path and the field's manifest path, sending nothing", async () => {
    writeFileSync(
      join(dir, "bad.yaml"),
      `${stack("http://127.0.0.1:1")}---\n${vmManifest("web-1").replace("powerState: On", "powerState: on")}`,
    );
    const result = await run("apply", "-f", join(dir, "bad.yaml"));
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(
      `error: ${join(dir, "bad.yaml")} (document 5): spec.powerState: must be one of On, Off, OffGraceful, Suspended, got "on"\n`,
    );
    expect((await run("get", "providers")).stderr).toBe(
      "No providers found in namespace default.\n",
    );
  });

  it("reports the manager's own validation with the manifest path", async () => {
    writeFileSync(join(dir, "vm.yaml"), vmManifest("web-1").replace("sizeGiB: 10", "sizeGiB: 0"));
    const result = await run("apply", "-f", join(dir, "vm.yaml"));
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/virtualmachine\/web-1: spec\.disks\[0\]\.sizeGiB: /);
  });

  it("applies from standard input, prints kubectl-like tables, YAML and JSON", async () => {
    const applied = await vrtg(tm.url, ["apply", "-f", "-"], stack("http://127.0.0.1:1"));
    expect(applied.stdout).toBe(
      "provider/mock created\nvmclass/small created\nvmimage/debian created\nvmnetworkattachment/default-net created\n",
    );
    expect(
      (await vrtg(tm.url, ["apply", "-f", "-"], stack("http://127.0.0.1:1"))).stdout,
    ).toContain("provider/mock unchanged");
    const table = await run("get", "vmclasses");
    expect(table.stdout).toMatch(
      /^NAME\s+CPU\s+MEMORY\s+FIRMWARE\s+USED-BY\s+AGE\nsmall\s+2\s+2Gi\s+BIOS\s+0\s+\d+s\n$/,
    );
    const yaml = await run("get", "vmclass", "small", "-o", "yaml");
    expect(yaml.stdout).toContain("apiVersion: infra.virtrigaud.io/v1beta1\nkind: VMClass\n");
    const json = JSON.parse((await run("get", "vmclass", "-o", "json")).stdout) as {
      kind: string;
      items: unknown[];
    };
    expect(json.kind).toBe("List");
    expect(json.items).toHaveLength(1);
  });

  it("exits 3 for what does not exist, 2 for a bad command line, 5 for a delete still in use", async () => {
    expect((await run("get", "vm", "nope")).code).toBe(3);
    expect((await run("get", "gadgets")).code).toBe(2);
    expect((await run("frobnicate")).code).toBe(2);
    writeFileSync(join(dir, "vm2.yaml"), vmManifest("web-2"));
    await run("apply", "-f", join(dir, "vm2.yaml"));
    const refused = await run("delete", "vmclass", "small");
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain("used by VirtualMachine default/web-2");
  });

  it("says which manager answered, its store and who runs the controllers", async () => {
    const table = await run("status");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(
        `^REPLICA\\s+\\S+\nSTORE\\s+sqlite ${tm.dataDir}\nRESOURCE VERSION\\s+\\d+\nLEADING\\s+yes\nLEADER\\s+this manager \\(embedded store\\)\n$`,
      ),
    );
    const json = JSON.parse((await run("status", "-o", "json")).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ storeType: "sqlite", storeLocation: tm.dataDir, leading: true });
    expect((await run("status", "-o", "wide")).code).toBe(2);
  });

  it("exits 7 when the manager cannot be reached", async () => {
    const result = await vrtg("http://127.0.0.1:1", ["get", "vm"]);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(
      /^error: the manager at http:\/\/127\.0\.0\.1:1 cannot be reached: /,
    );
  });

  it("times out a wait with exit 6 and says why the condition is not met", async () => {
    const result = await run(
      "wait",
      "vm",
      "web-2",
      "--for",
      "condition=Ready",
      "--timeout",
      "500ms",
    );
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(
      /waiting for condition Ready=True on virtualmachine\/web-2 \(ProviderUnavailable/,
    );
  });
});
