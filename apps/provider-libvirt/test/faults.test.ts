import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { TempDirs } from "@virtrigaud/testbed";
import {
  ChecksumAlgorithm,
  ErrorReason,
  PowerOperation,
  PowerState,
  Secret,
} from "@virtrigaud/contracts";
import { removeDomains, restartLibvirtd, testbed } from "./testbed.js";
import { type TcpProxy, useTcpProxy } from "./tcp-proxy.js";
import { blankImage, done, errorOf, useProvider } from "./use-provider.js";

const run = promisify(execFile);

let provider: Awaited<ReturnType<typeof useProvider>> | undefined;
afterEach(async () => {
  await provider?.close();
  provider = undefined;
});

beforeAll(async () => {
  await removeDomains("fault-");
});

/** Temporary directories the cases made (known_hosts files, keys), removed at the end. */
const temp = new TempDirs("vrtg-faults-");
afterAll(() => temp.removeAll());

describe("the SSH connection cut mid-operation", () => {
  let proxy: TcpProxy;
  let http: Server;
  let url = "";
  let digest = "";
  /** Resolves when the host's download has begun; the response then hangs until the test ends. */
  let downloading: Promise<void>;

  beforeAll(async () => {
    proxy = await useTcpProxy(testbed().sshPort);
    const bytes = await readFile(await blankImage("fault-image", 16));
    digest = createHash("sha256").update(bytes).digest("hex");
    let started!: () => void;
    downloading = new Promise((resolve) => (started = resolve));
    http = createServer((req, res) => {
      if (req.url === "/slow.qcow2") {
        res.writeHead(200, { "content-length": String(bytes.length) });
        res.write(bytes.subarray(0, 1024));
        started();
        return; // never finishes: the operation is under way when the connection is cut
      }
      res.end(bytes);
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    http?.closeAllConnections();
    http?.close();
    await proxy?.close();
  });

  it("fails the operation as UNAVAILABLE, and the next calls reconnect and succeed", async () => {
    provider = await useProvider(
      {},
      { port: proxy.port, knownHostsFile: await proxiedKnownHosts(proxy.port) },
    );
    const { test } = provider;
    await test.client.validate({});
    const connections = proxy.accepted;

    const { task } = await test.client.imagePrepare({
      name: "fault-slow",
      source: {
        source: {
          case: "url",
          value: {
            url: `${url}/slow.qcow2`,
            checksum: { algorithm: ChecksumAlgorithm.SHA256, value: digest },
          },
        },
      },
    });
    await downloading;
    proxy.cut();
    const error = await errorOf(done(test, task));
    expect(error.reason).toBe(ErrorReason.UNAVAILABLE);
    expect(error.message).toMatch(/connection .* dropped/);

    // The next calls open a new connection and work.
    expect((await test.client.validate({})).message).toMatch(/via ssh/);
    expect(proxy.accepted).toBeGreaterThan(connections);
    const { vmId, task: creating } = await test.client.create({
      name: "fault-after-cut",
      class: { cpu: 1, memoryMib: 128 },
      image: {
        source: {
          case: "url",
          value: {
            url: `${url}/fast.qcow2`,
            checksum: { algorithm: ChecksumAlgorithm.SHA256, value: digest },
          },
        },
      },
    });
    await done(test, creating);
    expect((await test.client.describe({ vmId })).exists).toBe(true);
    await done(test, (await test.client.delete({ vmId })).task);
  });

  it("answers reads after a cut between calls without an error", async () => {
    provider = await useProvider(
      {},
      { port: proxy.port, knownHostsFile: await proxiedKnownHosts(proxy.port) },
    );
    const { test } = provider;
    await test.client.listVMs({});
    proxy.cut();
    await expect(test.client.listVMs({})).resolves.toBeDefined();
  });
});

describe("libvirtd restarting under the provider", () => {
  it("recovers: the VMs are still there and obey", async () => {
    provider = await useProvider();
    const { test } = provider;
    const image = await blankImage("fault-restart", 16);
    const { vmId, task } = await test.client.create({
      name: "fault-restart",
      class: { cpu: 1, memoryMib: 128 },
      image: { source: { case: "path", value: image } },
      powerOn: true,
    });
    await done(test, task);

    await restartLibvirtd();

    const { vm } = await test.client.describe({ vmId });
    expect(vm?.powerState).toBe(PowerState.ON);
    await done(test, (await test.client.power({ vmId, operation: PowerOperation.OFF })).task);
    expect((await test.client.describe({ vmId })).vm?.powerState).toBe(PowerState.OFF);
    await done(test, (await test.client.delete({ vmId })).task);
  });
});

describe("SSH trust", () => {
  it("refuses a host whose key is not the one in known_hosts", async () => {
    provider = await useProvider({}, { knownHostsFile: testbed().wrongKnownHosts });
    const error = await errorOf(provider.test.client.validate({}));
    expect(error.reason).toBe(ErrorReason.UNAUTHENTICATED);
    expect(error.message).toMatch(/not the one in known_hosts/);
  });

  it("refuses a host missing from known_hosts", async () => {
    const dir = temp.make();
    const empty = join(dir, "known_hosts");
    await run("touch", [empty]);
    provider = await useProvider({}, { knownHostsFile: empty });
    const error = await errorOf(provider.test.client.validate({}));
    expect(error.reason).toBe(ErrorReason.UNAUTHENTICATED);
    expect(error.message).toMatch(/not in known_hosts/);
  });

  it("connects to any host only with the explicit insecure opt-out", async () => {
    provider = await useProvider(
      {},
      { knownHostsFile: testbed().wrongKnownHosts, insecureIgnoreHostKey: true },
    );
    await expect(provider.test.client.validate({})).resolves.toBeDefined();
  });

  it("reports a key the host does not accept as UNAUTHENTICATED", async () => {
    const dir = temp.make();
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "key")]);
    const privateKey = new Secret(await readFile(join(dir, "key"), "utf8"));
    provider = await useProvider({}, { privateKey });
    const error = await errorOf(provider.test.client.validate({}));
    expect(error.reason).toBe(ErrorReason.UNAUTHENTICATED);
  });
});

/** known_hosts naming the proxy's port, with the test bed's real host key. */
async function proxiedKnownHosts(port: number): Promise<string> {
  const line = (await readFile(testbed().knownHosts, "utf8")).trim();
  const dir = temp.make();
  const file = join(dir, "known_hosts");
  const { writeFile } = await import("node:fs/promises");
  await writeFile(file, `${line.replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${port}`)}\n`);
  return file;
}
