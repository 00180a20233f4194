import { describe, expect, it } from "@jest/globals";
import { type CollectionFacts, planCollection } from "./plan-collection.js";
import { type JournalEntry, parseJournal } from "./volume-journal.js";
import { parseOwners } from "../host/scratch-lease.js";

const pool = "/pool";
const self = "/tmp/virtrigaud-0/aaaaaaaaaaaa";
const dead = "/tmp/virtrigaud-0/dddddddddddd";
const alive = "/tmp/virtrigaud-0/bbbbbbbbbbbb";
const minute = 60_000;

function entry(overrides: Partial<JournalEntry> = {}): JournalEntry {
  return {
    operation: "create",
    vm: "web",
    uuid: "u-1",
    files: [`${pool}/web-root.qcow2`, `${pool}/web-cidata.iso`],
    owner: dead,
    machine: "m-1",
    ...overrides,
  };
}

function facts(overrides: Partial<CollectionFacts> = {}): CollectionFacts {
  return {
    poolPath: pool,
    volumes: [],
    records: [],
    owners: new Map([
      [dead, "dead"],
      [alive, "alive"],
    ]),
    self: { owner: self, machine: "m-1", active: new Set() },
    domains: new Set(),
    referenced: new Set(),
    graceMs: 15 * minute,
    ...overrides,
  };
}

describe("planCollection", () => {
  it("collects the files of a dead process's Create past the grace", () => {
    const plan = planCollection(
      facts({ records: [{ id: "c", ageMs: 20 * minute, entry: entry() }] }),
    );
    expect(plan.collect).toEqual([
      { id: "c", entry: entry(), files: [`${pool}/web-root.qcow2`, `${pool}/web-cidata.iso`] },
    ]);
    expect(plan.waiting).toEqual([]);
  });

  it.each([
    ["a live process's entry", { owner: alive }, 20 * minute, "in flight"],
    ["another machine's entry (shared storage)", { machine: "m-2" }, 20 * minute, "owner unknown"],
    [
      "an entry whose owner cannot be told",
      { owner: "/tmp/virtrigaud-0/cccccccccccc" },
      20 * minute,
      "owner unknown",
    ],
    ["a dead process's entry within the grace", {}, 14 * minute, "in grace"],
    ["this process's entry under way", { owner: self }, 20 * minute, "in flight"],
  ])("waits on %s", (_what, change, ageMs, reason) => {
    const records = [{ id: "c", ageMs, entry: entry(change) }];
    const plan = planCollection(
      facts({ records, self: { owner: self, machine: "m-1", active: new Set(["c"]) } }),
    );
    expect(plan.waiting).toEqual([{ id: "c", reason }]);
    expect(plan.collect).toEqual([]);
  });

  it("collects this process's own entry once its operation has ended", () => {
    const plan = planCollection(
      facts({ records: [{ id: "c", ageMs: 20 * minute, entry: entry({ owner: self }) }] }),
    );
    expect(plan.collect.map((c) => c.id)).toEqual(["c"]);
  });

  it("only removes the entry when its domain exists: the Create finished, or the Delete never undefined", () => {
    const records = [
      { id: "c", ageMs: 20 * minute, entry: entry() },
      { id: "d", ageMs: 20 * minute, entry: entry({ operation: "delete", uuid: "u-2" }) },
    ];
    const plan = planCollection(facts({ records, domains: new Set(["u-1", "u-2"]) }));
    expect(plan.complete).toEqual(["c", "d"]);
    expect(plan.collect).toEqual([]);
  });

  it("finishes a Delete whose domain is gone", () => {
    const records = [{ id: "d", ageMs: 20 * minute, entry: entry({ operation: "delete" }) }];
    expect(planCollection(facts({ records })).collect.map((c) => c.id)).toEqual(["d"]);
  });

  it("never removes a file a domain uses, directly or below its disks, or a file a live entry names", () => {
    const records = [
      {
        id: "c",
        ageMs: 20 * minute,
        entry: entry({
          files: [
            `${pool}/web-root.qcow2`,
            `${pool}/web-root-base.qcow2`,
            `${pool}/web-cidata.iso`,
          ],
        }),
      },
      {
        id: "again",
        ageMs: 1000,
        entry: entry({ uuid: "u-9", owner: alive, files: [`${pool}/web-cidata.iso`] }),
      },
    ];
    const plan = planCollection(
      facts({
        records,
        referenced: new Set([`${pool}/web-root.qcow2`, `${pool}/web-root-base.qcow2`]),
      }),
    );
    expect(plan.collect).toEqual([]);
    expect(plan.complete).toEqual(["c"]);
  });

  it("never removes what an entry names outside the pool or under another VM's name", () => {
    const files = [
      "/etc/passwd",
      `${pool}/../etc/passwd`,
      `${pool}/sub/web-root.qcow2`,
      `${pool}/db-root.qcow2`,
      `${pool}/web-root.qcow2`,
      `${pool}/.url-1.partial`,
    ];
    const plan = planCollection(
      facts({ records: [{ id: "c", ageMs: 20 * minute, entry: entry({ files }) }] }),
    );
    expect(plan.collect[0]?.files).toEqual([`${pool}/web-root.qcow2`, `${pool}/.url-1.partial`]);
  });

  it("removes unreadable entries past the grace, and leaves young ones", () => {
    const records = [
      { id: "old", ageMs: 20 * minute, entry: undefined },
      { id: "new", ageMs: 1000, entry: undefined },
    ];
    expect(planCollection(facts({ records })).unreadable).toEqual(["old"]);
  });

  it("reports VM-named volumes nothing uses or names, and nothing else", () => {
    const plan = planCollection(
      facts({
        volumes: [
          "old-root.qcow2",
          "old-disk-data.raw",
          "old-cidata.iso",
          ".url-abc.partial",
          "used-root.qcow2",
          "base-root.qcow2",
          "web-root.qcow2",
          "debian-12.qcow2",
          "url-abc.qcow2",
          ".virtrigaud-journal",
        ],
        referenced: new Set([`${pool}/used-root.qcow2`, `${pool}/base-root.qcow2`]),
        records: [{ id: "c", ageMs: 1000, entry: entry({ owner: alive }) }],
      }),
    );
    expect(plan.suspects).toEqual([
      `${pool}/old-root.qcow2`,
      `${pool}/old-disk-data.raw`,
      `${pool}/old-cidata.iso`,
      `${pool}/.url-abc.partial`,
    ]);
  });
});

describe("reading the host's answers", () => {
  it("reads journal entries with their age by the host's clock", () => {
    const good = JSON.stringify({ version: 1, ...entry() });
    const records = parseJournal(
      `1000\ncreate-u-1.json\t940\t${good}\nbroken.json\t999\t{"version":1,\nnoise\n`,
    );
    expect(records).toEqual([
      { id: "create-u-1", ageMs: 60_000, entry: entry() },
      { id: "broken", ageMs: 1000, entry: undefined },
    ]);
  });

  it("reads owner states, unknown for owners the host did not answer", () => {
    const states = parseOwners(`alive ${alive}\ndead ${dead}\n`, [alive, dead, self]);
    expect([...states]).toEqual([
      [alive, "alive"],
      [dead, "dead"],
      [self, "unknown"],
    ]);
  });
});
