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
  it("splits virsh's sections by domain, a vanished domain with empty XML", () => {
    const out =
      `${m} domain ${a}\n${m} domain ${b}\n` +
      `${m} xml ${a}<domain>a</domain>\n${m} agent ${a}${m} lease ${a} vnet0 52:54:00:00:00:01 ipv4 10.0.0.2/24\n` +
      `${m} xml ${b}`;
    expect(parseListing(out, m)).toEqual([
      {
        uuid: a,
        xml: "<domain>a</domain>\n",
        agent: "",
        lease: " vnet0 52:54:00:00:00:01 ipv4 10.0.0.2/24\n",
      },
      { uuid: b, xml: "", agent: undefined, lease: undefined },
    ]);
  });

  it("throws when virsh stopped before a domain's XML", () => {
    expect(() => parseListing(`${m} domain ${a}\n${m} domain ${b}\n${m} xml ${a}<d/>`, m)).toThrow(
      `virsh stopped before the XML of domain ${b}`,
    );
  });

  it("reads nothing for nothing", () => {
    expect(parseListing("", m)).toEqual([]);
  });
});

describe("the listing script", () => {
  it("sends only UUIDs to virsh and matches the prefix literally", async () => {
    // A stand-in virsh on PATH records the command strings it is given.
    const dir = await mkdtemp(join(tmpdir(), "vrtg-listing-"));
    try {
      const fake = join(dir, "virsh");
      await writeFile(
        fake,
        `#!/bin/sh
case "$4" in
  list*) printf '%s\\n' '${a} we*ird $(name)' '${b} other' 'not-a-uuid we*ird' ; echo "$4" | sed -n 's/.*echo \\([^ ]*\\).*/\\1/p'; printf '%s\\n' '${a}' ;;
  *) printf '%s\\n' "$4" >> '${dir}/commands' ;;
esac
`,
      );
      await chmod(fake, 0o755);
      const { stdout } = await run("sh", ["-c", listingScript, "sh", "test:///x", "we*", m], {
        env: { ...process.env, PATH: `${dir}:${process.env["PATH"] ?? ""}` },
      });
      expect(stdout).toBe(`${m} domain ${a}\n`);
      const { stdout: commands } = await run("cat", [join(dir, "commands")]);
      expect(commands).toBe(
        ` echo ${m} xml ${a} ; dumpxml --domain ${a} ;` +
          ` echo ${m} agent ${a} ; domifaddr --domain ${a} --source agent --full ;` +
          ` echo ${m} lease ${a} ; domifaddr --domain ${a} --source lease --full ;\n`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
