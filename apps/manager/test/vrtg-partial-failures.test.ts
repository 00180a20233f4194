import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { Kind, ManagerService, type VMClass } from "@virtrigaud/proto/manager";
import { fromResource } from "../src/manifest/kinds.js";
import { stack, vmManifest } from "./fixtures.js";
import { type ServerProcess, spawnManager, spawnVrtg, vrtg } from "./processes.js";

const vmClass = (
  name: string,
  cpu = 2,
  resourceVersion = "",
) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: ${name}
${resourceVersion ? `  resourceVersion: "${resourceVersion}"\n` : ""}spec:
  cpu: ${cpu}
  memory: 1Gi
`;

// vrtg against a manager process: what it does when only some of what it
// was asked can be done, and what it says about it.
describe("vrtg when part of a command fails", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-partial-"));
  let manager: ServerProcess;
  let client: ReturnType<typeof createServiceClient<typeof ManagerService>>;
  beforeAll(async () => {
    manager = await spawnManager(join(dir, "data"));
    client = createServiceClient(ManagerService, manager.url);
  });
  afterAll(async () => {
    client.close();
    await manager.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (namespace: string, ...args: string[]) =>
    vrtg(manager.url, ["-n", namespace, ...args]);
  const names = async (kind: Kind, namespace: string) =>
    (await client.list({ kind, namespace })).resources.map(
      (r) => fromResource(r)?.message.metadata?.name,
    );
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it("stores nothing when the manager refuses one document of several", async () => {
    const path = file(
      "stack.yaml",
      `${stack("http://127.0.0.1:1")}---\n${vmManifest("web-1").replace("sizeGiB: 10", "sizeGiB: 0")}`,
    );
    const result = await run("all-or-nothing", "apply", "-f", path);
    expect(result.code).toBe(4);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      new RegExp(
        `^error: ${path} \\(document 5\\): virtualmachine/web-1: spec\\.disks\\[0\\]\\.sizeGiB: .*\n` +
          "error: nothing was stored: 1 of 5 resources were refused\n$",
      ),
    );
    for (const kind of [Kind.PROVIDER, Kind.VM_CLASS, Kind.VM_IMAGE, Kind.VIRTUAL_MACHINE])
      expect(await names(kind, "all-or-nothing")).toEqual([]);
  });

  it("says what it stored and what it did not when a store fails after the check, and exits 8", async () => {
    const ns = "partly";
    expect((await run(ns, "apply", "-f", file("small.yaml", vmClass("small")))).code).toBe(0);
    const { resource } = await client.get({ kind: Kind.VM_CLASS, namespace: ns, name: "small" });
    const rv = fromResource(resource)?.message.metadata?.resourceVersion ?? "";
    // Both edits of small carry the version they read: each passes the
    // check, and the second is stale once the first is stored, as when
    // another client changes a resource between the check and the store.
    const path = file(
      "race.yaml",
      [vmClass("first"), vmClass("small", 3, rv), vmClass("small", 4, rv), vmClass("last")].join(
        "---\n",
      ),
    );
    const result = await run(ns, "apply", "-f", path);
    expect(result.code).toBe(8);
    expect(result.stdout).toBe("vmclass/first created\nvmclass/small configured\n");
    const [conflict, ...report] = result.stderr.split("\n");
    expect(conflict).toMatch(
      new RegExp(
        `^error: ${path} \\(document 3\\): vmclass/small: VMClass ${ns}/small is at resourceVersion \\d+, not ${rv}: `,
      ),
    );
    expect(report.join("\n")).toBe(
      "error: stopped after storing 2 of 4 resources (each printed on standard output)\n" +
        "error: not stored:\n" +
        `  ${path} (document 3): vmclass/small\n` +
        `  ${path} (document 4): vmclass/last\n`,
    );
    expect(await names(Kind.VM_CLASS, ns)).toEqual(["first", "small"]);
    const small = await client.get({ kind: Kind.VM_CLASS, namespace: ns, name: "small" });
    expect((fromResource(small.resource)?.message as VMClass).spec?.cpu).toBe(3);
  }, 60_000);

  it("says which resource it cannot know about when the manager goes away part way", async () => {
    const data = join(dir, "dying");
    let dying = await spawnManager(data);
    const count = 400;
    const run = spawnVrtg(dying.url, ["apply", "-f", "-"], {
      stdin: Array.from({ length: count }, (_, i) => vmClass(`d-${i}`)).join("---\n"),
    });
    // The check passed: the first resources are being stored. Stop the manager now.
    run.child.stdout?.once("data", () => void dying.stop("SIGKILL"));
    const result = await run.result;
    expect(result.code).toBe(8);
    const stored = result.stdout.split("\n").filter(Boolean);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(count);
    const lines = result.stderr.split("\n");
    const unknown = `<stdin> (document ${stored.length + 1}): vmclass/d-${stored.length}`;
    expect(lines.slice(1, 5)).toEqual([
      `error: stopped after storing ${stored.length} of ${count} resources (each printed on standard output)`,
      "error: not known whether this one was stored (the manager did not answer):",
      `  ${unknown}`,
      "error: not stored:",
    ]);
    expect(lines.slice(5).filter(Boolean)).toEqual(
      Array.from(
        { length: count - stored.length - 1 },
        (_, i) =>
          `  <stdin> (document ${stored.length + 2 + i}): vmclass/d-${stored.length + 1 + i}`,
      ),
    );
    // What it says is what the store holds.
    dying = await spawnManager(data);
    const after = createServiceClient(ManagerService, dying.url);
    try {
      const held = (await after.list({ kind: Kind.VM_CLASS, namespace: "default" })).resources
        .length;
      expect([stored.length, stored.length + 1]).toContain(held);
    } finally {
      after.close();
      await dying.stop();
    }
  }, 60_000);

  it("gets and describes the names that exist, reports each that does not, and exits 3", async () => {
    const ns = "several";
    await run(ns, "apply", "-f", file("ab.yaml", `${vmClass("a")}---\n${vmClass("b", 4)}`));
    const got = await run(ns, "get", "vmclass", "a", "missing", "b", "gone");
    expect(got.code).toBe(3);
    expect(got.stdout).toMatch(/^NAME +CPU .*\na +2 .*\nb +4 .*\n$/);
    expect(got.stderr).toBe(
      `error: VMClass ${ns}/missing does not exist\nerror: VMClass ${ns}/gone does not exist\n`,
    );
    const yaml = await run(ns, "get", "vmclass", "a", "b", "-o", "yaml");
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(/^apiVersion: v1\nkind: List\nitems:\n/);
    expect(yaml.stdout.match(/kind: VMClass/g)).toHaveLength(2);

    const described = await run(ns, "describe", "vmclass", "a", "missing", "b");
    expect(described.code).toBe(3);
    expect(described.stdout.match(/^Name: [ab]$/gm)).toEqual(["Name: a", "Name: b"]);
    expect(described.stderr).toBe(`error: VMClass ${ns}/missing does not exist\n`);

    expect((await run(ns, "get", "vmclass", "a", "b", "-w")).code).toBe(2);
  }, 60_000);

  it("waits for every name given, not only the first", async () => {
    const ns = "wait-all";
    await run(ns, "apply", "-f", file("kept.yaml", vmClass("kept")));
    const result = await run(
      ns,
      "wait",
      "vmclass",
      "never-there",
      "kept",
      "--for",
      "delete",
      "--timeout",
      "300ms",
    );
    expect(result.code).toBe(6);
    expect(result.stdout).toBe("vmclass/never-there deleted\n");
    expect(result.stderr).toBe(
      "error: timed out after 300ms waiting for vmclass/kept to be deleted\n",
    );
  }, 60_000);

  it("refuses arguments a command would otherwise ignore", async () => {
    const result = await run("extra", "apply", "vm.yaml", "-f", file("x.yaml", vmClass("x")));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unexpected argument "vm.yaml"');
    expect(await names(Kind.VM_CLASS, "extra")).toEqual([]);
  });
});
