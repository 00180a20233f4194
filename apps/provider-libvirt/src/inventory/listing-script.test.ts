import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "@jest/globals";
import { listingScript, parseListing } from "./listing-script.js";

const run = promisify(execFile);
const m = "vrtg0123456789abcdef";
const a = "0f044d92-ef84-40a8-893b-4a84d10c1a4a";
const b = "30de2b79-2769-4e6a-a88a-6ccc9aa317fa";

describe("parseListing", () => {
  it("splits each chunk into its definitions and the active domains' answers", () => {
    const out =
      `${m} chunk\n<domain>a</domain>\n<domain>b</domain>\n${m} addresses` +
      `${m} agent ${a}${m} lease ${a} vnet0 52:54:00:00:00:01 ipv4 10.0.0.2/24\n${m} end` +
      `${m} chunk\n<domain>c</domain>\n${m} addresses${m} end`;
    expect(parseListing(out, m)).toEqual({
      definitions: ["<domain>a</domain>\n<domain>b</domain>\n", "<domain>c</domain>\n"],
      agent: new Map([[a, ""]]),
      lease: new Map([[a, " vnet0 52:54:00:00:00:01 ipv4 10.0.0.2/24\n"]]),
    });
  });

  it("throws when virsh stopped before the end of a chunk", () => {
    expect(() =>
      parseListing(`${m} chunk\n<domain>a</domain>\n${m} addresses${m} end${m} chunk\n<dom`, m),
    ).toThrow("virsh stopped after 1 of 2 chunks");
  });

  it("reads nothing for nothing", () => {
    expect(parseListing("", m)).toEqual({ definitions: [], agent: new Map(), lease: new Map() });
  });
});

describe("the listing script", () => {
  it("sends only UUIDs to virsh and matches the prefix literally, as a plain string", async () => {
    // A stand-in virsh on PATH records the command strings it is given.
    const dir = await mkdtemp(join(tmpdir(), "vrtg-listing-"));
    try {
      const fake = join(dir, "virsh");
      await writeFile(
        fake,
        `#!/bin/sh
case "$4" in
  list*) printf '%s\\n' '${a} we*ird $(name)' '${b} weXird' 'not-a-uuid we*ird' '${b}0 we*ird' ; printf '%s' "$(echo "$4" | sed -n 's/.*echo \\([^ ]*\\).*/\\1/p')"; printf '%s\\n' '${a}' ;;
  *) printf '%s\\n' "$4" >> '${dir}/commands' ;;
esac
`,
      );
      await chmod(fake, 0o755);
      const { stdout } = await run("sh", ["-c", listingScript, "sh", "test:///x", "we*", m], {
        env: { ...process.env, PATH: `${dir}:${process.env["PATH"] ?? ""}` },
      });
      expect(stdout).toBe(`${m} chunk\n`);
      const { stdout: commands } = await run("cat", [join(dir, "commands")]);
      expect(commands).toBe(
        ` dumpxml --domain ${a} ; echo ${m} addresses ;` +
          ` echo ${m} agent ${a} ; domifaddr --domain ${a} --source agent --full ;` +
          ` echo ${m} lease ${a} ; domifaddr --domain ${a} --source lease --full ; echo ${m} end\n`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
