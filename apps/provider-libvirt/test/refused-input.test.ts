// Values no virsh argument, XML document or host path can carry are refused
// as INVALID_SPEC naming their field, before anything is read or changed.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ChecksumAlgorithm, ErrorReason, NetworkType } from "@virtrigaud/contracts";
import type { TestServer } from "@virtrigaud/contracts/testing";
import { removeDomains, testbed, virsh } from "./testbed.js";
import { done, errorOf, testPool, useProvider } from "./use-provider.js";

let provider: Awaited<ReturnType<typeof useProvider>>;
let test: TestServer;

beforeAll(async () => {
  await removeDomains("refused-");
  provider = await useProvider();
  test = provider.test;
  await test.client.validate({}); // the pool exists from here on
});
afterAll(async () => {
  await provider?.close();
  await removeDomains("refused-");
});

const digest = "0".repeat(64);
let cases = 0;

async function poolFiles(prefix: string): Promise<string[]> {
  await virsh("pool-refresh", "--pool", testPool);
  return (await virsh("vol-list", "--pool", testPool))
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith(prefix));
}

describe("Create fields the host cannot take", () => {
  it.each([
    [{ networks: [{ network: "vrtg\ntest" }] }, "networks[0].network"],
    [{ networks: [{ network: `${testbed().network}\n` }] }, "networks[0].network"],
    [
      {
        networks: [
          { network: testbed().network },
          { network: "br\u0000x", type: NetworkType.BRIDGE },
        ],
      },
      "networks[1].network",
    ],
    [{ networks: [{ network: "a/b", type: NetworkType.BRIDGE }] }, "networks[0].network"],
    [{ image: { source: { case: "path" as const, value: "/tmp/disk\n.qcow2" } } }, "image.path"],
    [{ image: { source: { case: "path" as const, value: "/tmp/\u0001.qcow2" } } }, "image.path"],
    [{ image: { source: { case: "template" as const, value: "a\rb" } } }, "image.template"],
    [
      {
        image: {
          source: {
            case: "url" as const,
            value: {
              url: "http://127.0.0.1/a\u0001b.qcow2",
              checksum: { algorithm: ChecksumAlgorithm.SHA256, value: digest },
            },
          },
        },
      },
      "image.url.url",
    ],
    [{ tags: ["ok", "bell\u0007"] }, "tags[1]"],
    [{ labels: { team: "a\uffffb" } }, 'labels["team"]'],
  ])("refuses %j with INVALID_SPEC at %s, creating nothing", async (fields, field) => {
    // A name per case: a Create that is wrongly accepted does not mask the next case.
    const name = `refused-${++cases}`;
    const error = await errorOf(
      test.client.create({ name, class: { cpu: 1, memoryMib: 128 }, ...fields }),
    );
    expect([error.reason, error.field]).toEqual([ErrorReason.INVALID_SPEC, field]);
    expect((await test.client.listVMs({ namePrefix: name })).vms).toEqual([]);
    expect(await poolFiles(`${name}-`)).toEqual([]);
  });
});

describe("other requests", () => {
  it("refuses an ImagePrepare source the host cannot take, naming the field", async () => {
    const error = await errorOf(
      test.client.imagePrepare({
        name: "refused-image",
        source: { source: { case: "path", value: "/tmp/x\n.qcow2" } },
      }),
    );
    expect([error.reason, error.field]).toEqual([ErrorReason.INVALID_SPEC, "source.path"]);
    expect(await poolFiles("refused-image")).toEqual([]);
  });

  it("refuses a snapshot description XML cannot carry, taking no snapshot", async () => {
    const { vmId, task } = await test.client.create({
      name: "refused-snap",
      class: { cpu: 1, memoryMib: 128 },
    });
    await done(test, task);
    const error = await errorOf(
      test.client.snapshotCreate({ vmId, name: "s1", description: "escape \u001b[31m" }),
    );
    expect([error.reason, error.field]).toEqual([ErrorReason.INVALID_SPEC, "description"]);
    expect((await test.client.snapshotList({ vmId })).snapshots).toEqual([]);
    await done(test, (await test.client.delete({ vmId })).task);
  });
});
