import { afterAll, beforeAll, expect, it } from "@jest/globals";
import type { CallObserver } from "../src/server/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

interface SeenCall {
  method: string;
  header: string | null;
  code: string | undefined;
}

const seen: SeenCall[] = [];
const observer: CallObserver = {
  finished(req, _info, error) {
    seen.push({
      method: req.method.name,
      header: req.header.get("x-test-term"),
      code: error ? String(error.code) : undefined,
    });
  },
};

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer(
    stubProvider({ delete: () => Promise.reject(new Error("the disk is on fire")) }),
    { serve: { callObservers: [observer] } },
  );
});
afterAll(() => test.close());

it("shows extra call observers each call's request headers and how it ended", async () => {
  await test.client.describe({ vmId: "vm-1" }, { headers: { "x-test-term": "7" } });
  await expect(test.client.delete({ vmId: "vm-1" })).rejects.toThrow();
  expect(seen).toEqual([
    { method: "Describe", header: "7", code: undefined },
    { method: "Delete", header: null, code: expect.any(String) },
  ]);
});
