import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { ErrorReason } from "@virtrigaud/proto";
import { ProviderError, exportDisk } from "../src/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { createInMemoryDiskProvider } from "./in-memory-disk-provider.js";

describe("exportDisk against a served provider", () => {
  let server: TestServer;
  const file = new Uint8Array(4096).map((_, i) => i & 0xff);

  beforeEach(async () => {
    const disks = createInMemoryDiskProvider();
    disks.exports.set("exp-1", file);
    server = await startTestServer(disks.provider);
  });
  afterEach(() => server.close());

  it("follows the export's task, then gives the ready export", async () => {
    const tasks: string[] = [];
    const made = await exportDisk(
      server.client,
      { exportId: "exp-1", vmId: "vm-1", diskName: "root" },
      { onTask: (task) => void tasks.push(task.id) },
    );
    expect(tasks).toEqual(["make-exp-1"]);
    expect(made.id).toBe("exp-1");
    expect(made.sizeBytes).toBe(4096n);
    expect(made.sha256).toBe(createHash("sha256").update(file).digest("hex"));
    // Asked again with the same id: the same export, at once.
    const again = await exportDisk(server.client, {
      exportId: "exp-1",
      vmId: "vm-1",
      diskName: "root",
    });
    expect(again).toEqual(made);
  });

  it("passes the provider's typed error on", async () => {
    const error = await exportDisk(server.client, {
      exportId: "missing",
      vmId: "vm-1",
      diskName: "root",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).reason).toBe(ErrorReason.NOT_FOUND);
  });
});
