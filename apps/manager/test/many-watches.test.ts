import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { Kind, ManagerService, WatchEventType } from "@virtrigaud/proto/manager";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { stack } from "./fixtures.js";
import { type ServerProcess, spawnManager } from "./processes.js";

const dir = mkdtempSync(join(tmpdir(), "vrtg-watches-"));
let manager: ServerProcess | undefined;
afterAll(async () => {
  await manager?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Every open watch listens to the manager's shutdown signal until it ends.
// Twenty at once are no leak, and must not be reported as one: Node warns
// past ten listeners on a signal, on the manager's stderr, where an operator
// reads it as a leak.
it("holds twenty watches at once without a listener-leak warning", async () => {
  manager = await spawnManager(join(dir, "data"));
  const client = createServiceClient(ManagerService, manager.url);
  const abort = new AbortController();
  try {
    const firsts = Array.from({ length: 20 }, async () => {
      for await (const event of client.watch({ kind: Kind.VM_CLASS }, { signal: abort.signal }))
        return event.type;
      return undefined;
    });
    // Each watch is open (and listening) once a change reaches it.
    await new Promise((r) => setTimeout(r, 500));
    // The stack's second document is its VMClass.
    const vmClass = parseManifests(stack("http://127.0.0.1:1").split("---")[1] ?? "", "t")[0];
    await client.apply({ resource: decodeManifest(vmClass?.manifest) });
    expect(await Promise.all(firsts)).toEqual(Array(20).fill(WatchEventType.ADDED));
  } finally {
    abort.abort();
    client.close();
  }
  expect(manager.stderr()).not.toContain("MaxListenersExceededWarning");
});
