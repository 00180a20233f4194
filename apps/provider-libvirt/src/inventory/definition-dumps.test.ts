import { describe, expect, it } from "@jest/globals";
import { dumpCommand, dumpParts, dumpedDefinitions } from "./definition-dumps.js";

const uuids = (n: number) =>
  Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);

describe("definition dumps", () => {
  it("reads a few domains in one part, many in two, a great many in parts under the argument limit", () => {
    expect(dumpParts(uuids(30)).map((p) => p.length)).toEqual([30]);
    expect(dumpParts(uuids(80)).map((p) => p.length)).toEqual([50, 30]);
    expect(dumpParts(uuids(200)).map((p) => p.length)).toEqual([100, 100]);
    expect(dumpParts(uuids(2500)).map((p) => p.length)).toEqual([1000, 1000, 500]);
    expect(dumpParts([])).toEqual([]);
    const longest = dumpCommand(dumpParts(uuids(2500))[0] ?? [], "vrtg0123456789abcdef");
    expect(Buffer.byteLength(longest)).toBeLessThan(128 * 1024);
  });

  it("quotes every value of the command string, the marker last", () => {
    expect(dumpCommand(["a'b", "--config"], "vrtg01")).toBe(
      "dumpxml --domain 'a'\\''b' ; dumpxml --domain '--config' ; echo 'vrtg01'",
    );
  });

  it("takes the definitions before the marker, and refuses a part without it", () => {
    expect(dumpedDefinitions("<domain/>\n<domain/>\nvrtg01", "vrtg01")).toBe(
      "<domain/>\n<domain/>\n",
    );
    expect(() => dumpedDefinitions("<domain/>\n", "vrtg01")).toThrow(
      "virsh stopped before the end of the definitions",
    );
  });
});
