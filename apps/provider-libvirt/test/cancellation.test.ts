import { randomInt } from "node:crypto";
import { afterEach, describe, expect, it } from "@jest/globals";
import { type LibvirtHost, createLibvirtHost } from "../src/host/libvirt-host.js";
import { createSshTransport } from "../src/host/ssh-transport.js";
import { sshKey, testbed } from "./testbed.js";

// Cancellation reaches the host: an aborted call (an RPC's signal, a task's,
// a drain's) ends its remote command at once, and nothing it started is left
// running on the test bed.

const hosts: LibvirtHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

function sshHost(sessions = 4): LibvirtHost {
  const host = createLibvirtHost({
    uri: testbed().uri,
    sessions,
    transport: createSshTransport({
      host: testbed().sshHost,
      port: testbed().sshPort,
      username: testbed().sshUser,
      privateKey: sshKey(),
      knownHostsFile: testbed().knownHosts,
    }),
  });
  hosts.push(host);
  return host;
}

/** The test bed's processes whose command lines hold `pattern`, as `pid command` lines. */
async function running(observer: LibvirtHost, pattern: string): Promise<string[]> {
  const { stdout } = await observer.exec(["pgrep", "-a", "-f", "--", pattern]);
  return stdout.split("\n").filter(Boolean);
}

/** Waits until `check` holds, for up to `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A virsh that runs until it is stopped, and the text that finds it on the host. */
function endlessVirsh(): {
  command: [string, Record<string, string | number | boolean>];
  pattern: string;
} {
  const timeout = 100_000 + randomInt(800_000);
  return {
    command: ["event", { all: true, loop: true, timeout }],
    pattern: `event --all --loop --timeout '${timeout}'`,
  };
}

describe("an aborted host call", () => {
  it("ends its virsh on the host and frees its shell", async () => {
    const host = sshHost(1);
    const observer = sshHost();
    const { command, pattern } = endlessVirsh();
    const abort = new AbortController();
    const call = host.virsh([command], { signal: abort.signal });
    expect(await eventually(async () => (await running(observer, pattern)).length > 0)).toBe(true);

    const started = Date.now();
    abort.abort(new Error("the caller went away"));
    await expect(call).rejects.toThrow("the caller went away");
    expect(Date.now() - started).toBeLessThan(1000);

    expect(await eventually(async () => (await running(observer, pattern)).length === 0)).toBe(
      true,
    );
    // The host's only shell is free again: the next call runs.
    expect(
      (await host.exec(["echo", "next"], { signal: AbortSignal.timeout(10_000) })).stdout,
    ).toBe("next\n");
  });

  it("ends a qemu-img that a deadline cut short", async () => {
    const host = sshHost();
    const dir = await host.scratchDir();
    // Reading a FIFO nobody writes blocks qemu-img until it is killed.
    const fifo = `${dir}/never-written-${randomInt(1_000_000)}`;
    await host.exec(["mkfifo", fifo]);
    const call = host.exec(["qemu-img", "info", "-U", fifo], { signal: AbortSignal.timeout(1500) });
    await expect(call).rejects.toMatchObject({ name: "TimeoutError" });
    expect(await eventually(async () => (await running(host, fifo)).length === 0)).toBe(true);
  });

  it("is ended on the host before a drain closes the connection", async () => {
    const host = createLibvirtHost({
      uri: testbed().uri,
      transport: createSshTransport({
        host: testbed().sshHost,
        port: testbed().sshPort,
        username: testbed().sshUser,
        privateKey: sshKey(),
        knownHostsFile: testbed().knownHosts,
      }),
    });
    const observer = sshHost();
    const { command, pattern } = endlessVirsh();
    const drain = new AbortController();
    const call = host.virsh([command], { signal: drain.signal });
    expect(await eventually(async () => (await running(observer, pattern)).length > 0)).toBe(true);
    // A drain: the provider's tasks are aborted, then the host closed.
    drain.abort(new Error("draining"));
    await expect(call).rejects.toThrow("draining");
    await host.close();
    expect(await running(observer, pattern)).toEqual([]);
  });
});
