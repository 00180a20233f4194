import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import {
  ConsoleKind,
  ErrorReason,
  Firmware,
  PowerOperation,
  ProviderError,
} from "@virtrigaud/contracts";
import type { TestServer } from "@virtrigaud/contracts/testing";
import { removeDomains, testbed } from "./testbed.js";
import { blankImage, done, useProvider } from "./use-provider.js";

// The serial console through `virsh console` on a terminal over the
// provider's SSH connection to the real libvirtd: bytes come through, the
// host's virsh ends when the caller goes, and a domain that is off is
// refused; and the VNC display, through a TCP channel of that connection. The login prompt of a real guest is the manager's e2e-guest-console test.

const run = promisify(execFile);

let provider: Awaited<ReturnType<typeof useProvider>>;
let test: TestServer;
let vmId = "";
let uuid = "";

beforeAll(async () => {
  await removeDomains("console-");
  provider = await useProvider();
  test = provider.test;
  const created = await test.client.create({
    name: "console-1",
    class: { cpu: 1, memoryMib: 128, firmware: Firmware.BIOS },
    image: { source: { case: "path", value: await blankImage("console-base") } },
    rootDiskSizeGib: 1,
    powerOn: true,
  });
  vmId = created.vmId;
  await done(test, created.task);
  uuid = vmId;
});
afterAll(async () => {
  await provider?.close();
  await removeDomains("console-");
});

const open = (id: string) => ({
  frame: { case: "open" as const, value: { vmId: id, kind: ConsoleKind.SERIAL } },
});

/** The host's `virsh console` processes of the test's domain. */
async function virshConsoles(): Promise<string[]> {
  const { stdout } = await run("pgrep", ["-f", `console --force ${uuid}`]).catch(() => ({
    stdout: "",
  }));
  return stdout.split("\n").filter(Boolean);
}

async function* requests(id: string, stop: Promise<void>) {
  yield open(id);
  await stop;
}

it("relays the console of a running domain, and ends virsh on the host when the caller goes", async () => {
  let shown = "";
  let whileOpen: string[] = [];
  let finish = () => {};
  const stop = new Promise<void>((resolve) => (finish = resolve));
  for await (const { output } of test.client.console(requests(vmId, stop))) {
    shown += Buffer.from(output).toString();
    if (!shown.includes("Escape character")) continue;
    whileOpen = await virshConsoles();
    break;
  }
  finish();
  expect(whileOpen.length).toBeGreaterThan(0);
  expect(shown).toMatch(/Connected to domain '?console-1'?/);
  for (let i = 0; i < 100 && (await virshConsoles()).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(await virshConsoles()).toEqual([]);
});

it("relays the domain's VNC display (RFB) through a TCP channel of the SSH connection", async () => {
  // Sessions of this port run in libvirtd's namespaces, where QEMU's VNC listens, as on a real host.
  const inside = await useProvider({}, { port: testbed().namespaceSshPort });
  try {
    const capabilities = (await inside.test.client.getCapabilities({})).capabilities;
    expect(capabilities?.consoleKinds).toEqual([ConsoleKind.SERIAL, ConsoleKind.VNC]);
    let clientVersion = () => {};
    const sent = new Promise<void>((resolve) => (clientVersion = resolve));
    async function* rfb() {
      yield { frame: { case: "open" as const, value: { vmId, kind: ConsoleKind.VNC } } };
      await sent;
      yield { frame: { case: "input" as const, value: Buffer.from("RFB 003.008\n") } };
      await new Promise(() => {});
    }
    const received: Buffer[] = [];
    for await (const { output } of inside.test.client.console(rfb())) {
      received.push(Buffer.from(output));
      const bytes = Buffer.concat(received);
      if (bytes.length === 12) clientVersion();
      // The server's version, then (to our version) its security types: a count and that many.
      if (bytes.length > 12 && bytes.length >= 13 + (bytes[12] ?? 0)) break;
    }
    const bytes = Buffer.concat(received);
    expect(bytes.subarray(0, 12).toString()).toBe("RFB 003.008\n");
    expect(bytes[12]).toBeGreaterThan(0);
  } finally {
    await inside.close();
  }
});

it("refuses the console of a domain that is off", async () => {
  await done(test, (await test.client.power({ vmId, operation: PowerOperation.OFF })).task);
  const refused = async () => {
    for await (const _ of test.client.console(requests(vmId, Promise.resolve()))) void _;
  };
  const err = await refused().then(
    () => undefined,
    (e: unknown) => ProviderError.from(e),
  );
  expect(err?.reason).toBe(ErrorReason.CONFLICT);
});
