import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "@jest/globals";
import type { ServiceImpl } from "@connectrpc/connect";
import { ManagerService } from "@virtrigaud/proto/manager";
import { openResourceStore } from "../store/resource-store.js";
import { createManagerService } from "./manager-service.js";

type Implementation = ServiceImpl<typeof ManagerService>;

// Checked by the compiler (the typecheck target): the service implements
// every RPC of ManagerService. Were one missing, or the return type Partial,
// `true` would not be assignable to `never`.
const implementsEveryRpc: ReturnType<typeof createManagerService> extends Implementation
  ? true
  : never = true;

it("implements every RPC of ManagerService", async () => {
  expect(implementsEveryRpc).toBe(true);
  const dir = mkdtempSync(join(tmpdir(), "manager-service-"));
  const store = await openResourceStore(dir);
  try {
    const service = createManagerService(store);
    const missing = ManagerService.methods
      .map((method) => method.localName)
      .filter((name) => typeof service[name as keyof Implementation] !== "function");
    expect(missing).toEqual([]);

    // The check above has teeth: an implementation without one RPC is no ServiceImpl.
    const { listEvents, ...withoutListEvents } = service;
    expect(listEvents).toBeInstanceOf(Function);
    // @ts-expect-error Property 'listEvents' is missing
    const incomplete: Implementation = withoutListEvents;
    expect(Object.keys(incomplete)).not.toContain("listEvents");
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
