import { afterEach, describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { type LibvirtHost, createLibvirtHost } from "../src/host/libvirt-host.js";
import { createLocalTransport } from "../src/host/local-transport.js";
import { createSshTransport, sshNativeCrypto } from "../src/host/ssh-transport.js";
import { sshKey, testbed } from "./testbed.js";

let host: LibvirtHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

function sshHost(knownHostsFile = testbed().knownHosts) {
  return createLibvirtHost({
    uri: testbed().uri,
    transport: createSshTransport({
      host: testbed().sshHost,
      port: testbed().sshPort,
      username: testbed().sshUser,
      privateKey: sshKey(),
      knownHostsFile,
      initialBackoffMs: 10,
    }),
  });
}

describe("the libvirt host over SSH", () => {
  it("runs a virsh batch in one process and reports each command's outcome", async () => {
    host = sshHost();
    const outcomes = await host.virsh([
      ["version"],
      ["dominfo", { domain: "no-such-domain" }],
      ["net-list", { name: true }],
      ["echo", { string: "it's $(id) ; `id`" }],
    ]);
    expect(outcomes).toHaveLength(4);
    expect(outcomes[0]?.error).toBeUndefined();
    expect(outcomes[0]?.out).toMatch(/Using library: libvirt/);
    expect(outcomes[1]?.error).toMatch(/failed to get domain 'no-such-domain'/);
    expect(outcomes[2]?.out.split("\n")).toContain(testbed().network);
    expect(outcomes[3]?.out).toBe("it's $(id) ; `id`");
  });

  it("runs programs with quoted arguments and writes files over SFTP", async () => {
    host = sshHost();
    const dir = await host.scratchDir();
    const path = `${dir}/doc.xml`;
    await host.writeFile(path, "<a>&amp;'\"</a>\n");
    const result = await host.exec(["cat", path]);
    expect(result).toEqual({ stdout: "<a>&amp;'\"</a>\n", stderr: "", exitCode: 0 });
    const failed = await host.exec(["ls", `${dir}/missing; touch ${dir}/pwned`]);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toMatch(/No such file/);
    expect((await host.exec(["ls", dir])).stdout.trim()).toBe("doc.xml");
  });

  it("pipelines calls over several channels of one connection", async () => {
    host = sshHost();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => host!.exec(["echo", String(i)])),
    );
    expect(results.map((r) => r.stdout.trim())).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
  });

  it("runs the same batches on this machine without SSH (the local transport)", async () => {
    host = createLibvirtHost({ uri: testbed().uri, transport: createLocalTransport() });
    const [version, echo] = await host.virsh([["version"], ["echo", { string: "a'b $(id)" }]]);
    expect(version?.out).toMatch(/Using library: libvirt/);
    expect(echo?.out).toBe("a'b $(id)");
    const dir = await host.scratchDir();
    await host.writeFile(`${dir}/doc`, "x & y\n");
    expect((await host.exec(["cat", `${dir}/doc`])).stdout).toBe("x & y\n");
    await host.exec(["rm", "-r", "--", dir]);
  });

  it("encrypts with ssh2's native crypto, which its install script built", () => {
    // Without it every SSH packet costs a cipher object: a third more CPU per GiB moved.
    expect(sshNativeCrypto).toBe(true);
  });

  it("refuses a host whose key is not the one in known_hosts", async () => {
    host = sshHost(testbed().wrongKnownHosts);
    const error = await host.virsh([["version"]]).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNAUTHENTICATED)).toBe(true);
    expect((error as Error).message).toMatch(/host key .* not the one in known_hosts/);
  });
});
