import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { ConsoleKind, ErrorReason, PowerOperation, ProviderError } from "@virtrigaud/contracts";
import { type TestServer, startTestServer } from "@virtrigaud/contracts/testing";
import { type MockProvider, createMockProvider } from "./mock-provider.js";

// The mock's serial console over a real socket: its shell answers a typed
// line, and a VM that is off or unknown is refused with its reason.

let provider: MockProvider;
let test: TestServer;
let vmId: string;

beforeAll(async () => {
  provider = createMockProvider();
  test = await startTestServer(provider);
  const created = await test.client.create({
    name: "web-1",
    class: { cpu: 1, memoryMib: 512 },
    image: { source: { case: "template", value: "debian-12" } },
  });
  vmId = created.vmId;
  await test.client.waitForTask(created.task);
  await test.client.waitForTask(
    (await test.client.power({ vmId, operation: PowerOperation.ON })).task,
  );
});

afterAll(async () => {
  await test.close();
  await provider.close();
});

/** Requests: open, then each of `typed` once the console has answered the one before. */
async function* typing(id: string, typed: string[], answered: () => Promise<void>) {
  yield { frame: { case: "open" as const, value: { vmId: id, kind: ConsoleKind.SERIAL } } };
  for (const line of typed) {
    await answered();
    yield { frame: { case: "input" as const, value: Buffer.from(line) } };
  }
}

async function session(id: string, typed: string[], until: string): Promise<string> {
  let shown = "";
  let wake: (() => void) | undefined;
  const answered = () =>
    new Promise<void>((resolve) => {
      if (shown.endsWith("$ ")) resolve();
      else wake = resolve;
    });
  for await (const { output } of test.client.console(typing(id, typed, answered))) {
    shown += Buffer.from(output).toString();
    if (shown.endsWith("$ ")) wake?.();
    if (shown.includes(until)) break;
  }
  return shown;
}

it("runs a line typed on a running VM's serial console", async () => {
  const shown = await session(
    vmId,
    ["echo hello from the console\r"],
    "from the console\r\nweb-1$ ",
  );
  expect(shown).toBe(
    "mock serial console of web-1\r\nweb-1$ echo hello from the console\r\nhello from the console\r\nweb-1$ ",
  );
});

it("refuses the console of a VM that is off, and of one that does not exist", async () => {
  await test.client.waitForTask(
    (await test.client.power({ vmId, operation: PowerOperation.OFF })).task,
  );
  const refusal = (id: string) =>
    session(id, [], "never").then(
      () => undefined,
      (err: unknown) => ProviderError.from(err).reason,
    );
  expect(await refusal(vmId)).toBe(ErrorReason.CONFLICT);
  expect(await refusal("vm-missing")).toBe(ErrorReason.NOT_FOUND);
  await test.client.waitForTask(
    (await test.client.power({ vmId, operation: PowerOperation.ON })).task,
  );
});
