import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "../src/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

let test: TestServer;
let creates = 0;
beforeAll(async () => {
  test = await startTestServer(
    stubProvider({
      create: () => {
        creates++;
        return Promise.resolve({ vmId: "vm-1" });
      },
    }),
  );
});
afterAll(() => test.close());

it.each([
  [{ name: "ok", class: { cpu: 0, memoryMib: 512 } }, "class.cpu", /greater than 0/],
  [{ name: "ok", class: { cpu: 1, memoryMib: 0 } }, "class.memory_mib", /greater than 0/],
  [{ name: "ok" }, "class", /required/],
  [{ name: "", class: { cpu: 1, memoryMib: 512 } }, "name", /must not be empty/],
  [{ name: "a;rm -rf /", class: { cpu: 1, memoryMib: 512 } }, "name", /letters, digits/],
  [{ name: "x".repeat(10_000), class: { cpu: 1, memoryMib: 512 } }, "name", /letters, digits/],
  [
    { name: "ok", class: { cpu: 1, memoryMib: 512 }, disks: [{ name: "data", sizeGib: 0 }] },
    "disks[0].size_gib",
    /greater than 0/,
  ],
  [
    {
      name: "ok",
      class: { cpu: 1, memoryMib: 512 },
      networks: [{ network: "default", macAddress: "zz:00" }],
    },
    "networks[0].mac_address",
    /MAC address/,
  ],
])("rejects a bad Create before the provider sees it (%#)", async (request, field, message) => {
  const before = creates;
  const error = await test.client.create(request).catch((e: unknown) => e);
  expect(ProviderError.is(error, ErrorReason.INVALID_SPEC)).toBe(true);
  expect((error as ProviderError).field).toBe(field);
  expect((error as ProviderError).rawMessage).toMatch(message);
  expect(creates).toBe(before);
});

it("passes a good Create to the provider", async () => {
  const before = creates;
  await test.client.create({ name: "web-1", class: { cpu: 2, memoryMib: 2048 } });
  expect(creates).toBe(before + 1);
});

it("names a malformed task reference", async () => {
  const error = await test.client.getTask({ task: { id: "" } }).catch((e: unknown) => e);
  expect((error as ProviderError).field).toBe("task.id");
});
