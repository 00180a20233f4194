import { describe, expect, it } from "@jest/globals";
import type { DomainInfo } from "../xml/parse-domain.js";
import { type ReadDefinition, type ReuseInput, planDefinitionReads } from "./definition-reuse.js";

const info = (name: string) => ({ name, uuid: `${name}-uuid` }) as DomainInfo;
const mark = { run: 1, seen: 5 };
const known = (name: string, extra: Partial<ReadDefinition> = {}): [string, ReadDefinition] => [
  `${name}-uuid`,
  { info: info(name), fingerprint: `fp-${name}`, mark, readAt: 1000, hostChanges: 4, ...extra },
];

const input = (extra: Partial<ReuseInput> = {}): ReuseInput => ({
  domains: [{ uuid: "a-uuid", name: "a" }],
  fingerprints: new Map([["a", "fp-a"]]),
  known: new Map([known("a")]),
  changedSince: () => false,
  now: 2000,
  maxAgeMs: 30_000,
  hostChanges: 4,
  ...extra,
});

describe("planDefinitionReads", () => {
  it("takes a definition read before when nothing says it changed", () => {
    const plan = planDefinitionReads(input());
    expect([...plan.reuse.keys()]).toEqual(["a-uuid"]);
    expect(plan.read).toEqual([]);
  });

  it.each<[string, Partial<ReuseInput>]>([
    ["never read", { known: new Map() }],
    ["an event named it since", { changedSince: (_, name) => name === "a" }],
    [
      "its figures changed (setmem --config sends no event)",
      { fingerprints: new Map([["a", "fp-2"]]) },
    ],
    ["it has no figures", { fingerprints: new Map() }],
    ["it was read too long ago", { now: 1000 + 30_000 }],
    ["this process changed something on the host since", { hostChanges: 5 }],
    [
      "it was renamed",
      { domains: [{ uuid: "a-uuid", name: "b" }], fingerprints: new Map([["b", "fp-a"]]) },
    ],
  ])("reads it again when it was %s", (_, extra) => {
    const plan = planDefinitionReads(input(extra));
    expect(plan.reuse.size).toBe(0);
    expect(plan.read).toEqual(extra.domains?.map((d) => d.uuid) ?? ["a-uuid"]);
  });

  it("decides each domain on its own, in the listing's order", () => {
    const plan = planDefinitionReads(
      input({
        domains: [
          { uuid: "a-uuid", name: "a" },
          { uuid: "b-uuid", name: "b" },
          { uuid: "c-uuid", name: "c" },
        ],
        fingerprints: new Map([
          ["a", "fp-a"],
          ["b", "fp-b"],
          ["c", "fp-c"],
        ]),
        known: new Map([known("a"), known("c")]),
        changedSince: (_, name) => name === "c",
      }),
    );
    expect([...plan.reuse.keys()]).toEqual(["a-uuid"]);
    expect(plan.read).toEqual(["b-uuid", "c-uuid"]);
  });
});
