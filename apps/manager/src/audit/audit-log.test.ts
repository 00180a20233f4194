import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { TempDirs } from "@virtrigaud/testbed";
import type { AuditEntry } from "./audit-entry.js";
import { openAuditLog } from "./audit-log.js";

const entry = (name: string): AuditEntry => ({
  time: "2026-12-04T10:00:00.000Z",
  replica: "a",
  identity: { name: "alice", groups: [], method: "token" },
  source: "127.0.0.1",
  rpc: "Apply",
  verb: "create",
  kind: "VirtualMachine",
  namespace: "default",
  name,
  outcome: "ok",
});

const temp = new TempDirs("audit-log-");
afterEach(() => temp.removeAll());

const lines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as AuditEntry).name);

describe("openAuditLog", () => {
  it("writes one JSON line per record, at once, to a file only its user reads", () => {
    const path = join(temp.make(), "audit.log");
    const log = openAuditLog({ path });
    log.record(entry("a"));
    log.record(entry("b"));
    // Written before record returned: no flush, no close.
    expect(lines(path)).toEqual(["a", "b"]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    log.close();
  });

  it("appends to an existing file and narrows its mode", () => {
    const path = join(temp.make(), "audit.log");
    writeFileSync(path, `${JSON.stringify(entry("old"))}\n`, { mode: 0o644 });
    const log = openAuditLog({ path });
    log.record(entry("new"));
    log.close();
    expect(lines(path)).toEqual(["old", "new"]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("rotates by size and keeps the newest files, dropping the oldest", () => {
    const dir = temp.make();
    const path = join(dir, "audit.log");
    const lineBytes = JSON.stringify(entry("r00")).length + 1;
    const log = openAuditLog({ path, maxBytes: lineBytes * 2, maxFiles: 2 });
    for (let i = 0; i < 7; i++) log.record(entry(`r0${i}`));
    log.close();
    expect(readdirSync(dir).sort()).toEqual(["audit.log", "audit.log.1", "audit.log.2"]);
    expect(lines(path)).toEqual(["r06"]);
    expect(lines(`${path}.1`)).toEqual(["r04", "r05"]);
    expect(lines(`${path}.2`)).toEqual(["r02", "r03"]);
  });

  it("keeps the most recent records in memory, oldest first", () => {
    const log = openAuditLog({ keep: 3 });
    for (const name of ["a", "b", "c", "d"]) log.record(entry(name));
    expect(log.recent(10).map((e) => e.name)).toEqual(["b", "c", "d"]);
    expect(log.recent(2).map((e) => e.name)).toEqual(["c", "d"]);
    log.close();
  });

  it("refuses a path it cannot write", () => {
    expect(() => openAuditLog({ path: join(temp.make(), "missing", "audit.log") })).toThrow(
      /ENOENT/,
    );
  });
});
