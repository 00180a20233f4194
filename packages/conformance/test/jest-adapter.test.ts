import { afterAll, beforeAll } from "@jest/globals";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import { describeConformance } from "../src/jest.js";
import { startMock } from "./mock-process.js";

// How a provider's own test suite runs vcts against its live server: one
// jest test per case, plus one that nothing was left behind.
let mock: ProviderProcess;
beforeAll(async () => {
  mock = await startMock();
});
afterAll(() => mock.stop());

describeConformance("provider-mock", () => ({ endpoint: mock.url, insecure: true }), {
  profiles: ["core", "disk", "bad-input", "deadline"],
});
