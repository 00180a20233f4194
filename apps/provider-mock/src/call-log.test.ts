import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "@jest/globals";
import { startTestServer } from "@virtrigaud/contracts/testing";
import { type CallLogLine, leaderTermHeader, openCallLog } from "./call-log.js";
import { createMockProvider } from "./mock-provider.js";

it("logs each call's method, leader term and outcome, one JSON line per call", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mock-call-log-"));
  const file = join(dir, "calls.jsonl");
  const log = openCallLog(file);
  const provider = createMockProvider();
  const test = await startTestServer(provider, { serve: { callObservers: [log.observer] } });
  try {
    const before = Date.now();
    await test.client.listVMs({}, { headers: { [leaderTermHeader]: "3" } });
    await expect(test.client.describe({ vmId: "" })).rejects.toThrow();
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as CallLogLine);
    expect(lines).toEqual([
      { at: expect.any(Number), method: "ListVMs", term: "3", ok: true },
      { at: expect.any(Number), method: "Describe", term: null, ok: false },
    ]);
    expect(lines[0]?.at).toBeGreaterThanOrEqual(before - 1);
  } finally {
    await test.close();
    await provider.close();
    log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
