import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "@jest/globals";
import { shellCommand, shellQuote, virshCommand, virshQuote } from "./shell-quote.js";

const run = promisify(execFile);

/** Strings that would break out of a naive command line. */
export const hostileStrings = [
  "plain",
  "with space",
  "it's",
  "'",
  "''",
  "a\\'b",
  '"double" quotes',
  "$(touch /tmp/vrtg-pwned)",
  "`id`",
  "; rm -rf / ;",
  "a && b || c | d > e < f",
  "#comment",
  "!history",
  "--config",
  "-x",
  "*?[a]",
  "~root",
  "${HOME}",
  "tab\there",
  "<domain>&amp;]]>",
  "unicode ünïcødé 雪 🚀",
  "",
];

describe("shellQuote", () => {
  it.each(hostileStrings)("hands %j to a program unchanged through sh", async (value) => {
    const { stdout } = await run("/bin/sh", ["-c", `printf '%s' ${shellQuote(value)}`]);
    expect(stdout).toBe(value);
  });

  it("keeps newlines inside one argument", async () => {
    const { stdout } = await run("/bin/sh", ["-c", `printf '%s|' ${shellCommand(["a\nb", "c"])}`]);
    expect(stdout).toBe("a\nb|c|");
  });

  it("refuses a NUL byte", () => {
    expect(() => shellQuote("a\0b")).toThrow(TypeError);
  });
});

describe("virshQuote", () => {
  it.each(hostileStrings)(
    "hands %j to virsh unchanged through sh and virsh's own parser",
    async (value) => {
      // virsh's echo command prints its argument back: the real parser decides.
      const script = `${virshCommand("echo", { string: value })} ; echo END`;
      const { stdout } = await run("/bin/sh", [
        "-c",
        shellCommand(["virsh", "-q", "-c", "test:///default", script]),
      ]);
      expect(stdout).toBe(`${value}END`);
    },
  );

  it("refuses line breaks and NUL bytes", () => {
    expect(() => virshQuote("a\nb")).toThrow(TypeError);
    expect(() => virshQuote("a\0b")).toThrow(TypeError);
  });

  it("refuses a command name that is not a plain word", () => {
    expect(() => virshCommand("list; !sh")).toThrow(TypeError);
    expect(() => virshCommand("list", { "all;": true })).toThrow(TypeError);
  });
});
