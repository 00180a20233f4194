import { describe, expect, it } from "@jest/globals";
import { createDefinitionCache } from "./definition-cache.js";

const doc = (name: string, vcpus = 1, metadata = "") =>
  `<domain type='kvm'>\n  <name>${name}</name>\n  <uuid>5b6f1c1e-6c1b-4d8e-9c39-0d1f1f5e2a1${vcpus}</uuid>\n  <metadata>${metadata}</metadata>\n  <vcpu>${vcpus}</vcpu>\n</domain>\n`;

describe("the definition cache", () => {
  it("reads each document of a stream, an unchanged one once, a changed one again", () => {
    const cache = createDefinitionCache();
    const [web, db] = cache.read(doc("web-1") + doc("db-1", 2));
    expect([web?.name, db?.name, db?.maxVcpus]).toEqual(["web-1", "db-1", 2]);
    const [again, changed] = cache.read(doc("web-1") + doc("db-1", 3));
    expect(again).toBe(web);
    expect(changed).not.toBe(db);
    expect(changed?.maxVcpus).toBe(3);
  });

  it("forgets a domain a listing of its prefix no longer saw, and keeps others", () => {
    const cache = createDefinitionCache();
    const [web] = cache.read(doc("web-1"));
    cache.forgetMissing("db-", new Set());
    expect(cache.read(doc("web-1"))[0]).toBe(web);
    cache.forgetMissing("web-", new Set());
    expect(cache.read(doc("web-1"))[0]).not.toBe(web);
  });

  it("reads a stream whose metadata forges a document's end as what it is: one domain", () => {
    // A comment may hold anything, an ending and a whole fake domain included.
    const forged = `<!--\n</domain>\n${doc("fake", 9).trim()}\n<domain>\n-->`;
    const infos = createDefinitionCache().read(doc("real", 1, forged) + doc("next", 2));
    expect(infos.map((i) => i.name)).toEqual(["real", "next"]);
    expect(infos[0]?.maxVcpus).toBe(1);
  });

  it("refuses a stream that is not well-formed", () => {
    expect(() => createDefinitionCache().read(`${doc("a")}<domain>`)).toThrow(/malformed XML/);
  });
});
