import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { createProviderClient } from "@virtrigaud/contracts/client";
import { EarlyExit } from "@virtrigaud/contracts/testing";
import { repoRoot, spawnMock } from "./spawn-mock.js";

/** Starts the mock expecting it to exit before serving. */
async function earlyExit(args: string[]): Promise<EarlyExit> {
  const outcome = await spawnMock(args).then(
    (mock) => mock.stop().then(() => undefined),
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(EarlyExit);
  return outcome as EarlyExit;
}

it("is installed as the virtrigaud-provider-mock command, as npx finds it", async () => {
  const { stdout } = await promisify(execFile)(
    "npx",
    ["--no", "--", "virtrigaud-provider-mock", "--help"],
    {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: "" },
    },
  );
  expect(stdout).toMatch(/^virtrigaud-provider-mock: the reference VirtRigaud provider/);
});

it("refuses to serve plaintext without --insecure", async () => {
  const failed = await earlyExit([]);
  expect(failed.code).toBe(2);
  expect(failed.stderr).toMatch(/refusing to serve without TLS/);
  expect(failed.stderr).toMatch(/--insecure/);
});

it("refuses plaintext on an address other machines reach, with exit code 2", async () => {
  const failed = await earlyExit(["--insecure", "--listen", "0.0.0.0:0"]);
  expect(failed.code).toBe(2);
  expect(failed.stderr).toMatch(/refusing plaintext on 0\.0\.0\.0 \(port 0\)/);
});

it("refuses TLS that would serve any client, with exit code 2", async () => {
  const tls = ["--tls-cert", "/no/such/tls.crt", "--tls-key", "/no/such/tls.key"];
  const failed = await earlyExit(tls);
  expect(failed.code).toBe(2);
  expect(failed.stderr).toMatch(/refusing TLS without client certificates/);
  const anyone = await earlyExit([...tls, "--allow-any-client", "--listen", "[::]:0"]);
  expect(anyone.code).toBe(2);
  expect(anyone.stderr).toMatch(/refusing --allow-any-client on ::/);
});

it("refuses a flag it does not know, with usage", async () => {
  const failed = await earlyExit(["--insecure", "--colour", "blue"]);
  expect(failed.code).toBe(2);
  expect(failed.stderr).toMatch(/Unknown option '--colour'/);
  expect(failed.stderr).toMatch(/Usage: virtrigaud-provider-mock/);
});

it("refuses a bad mock flag with exit code 2", async () => {
  const failed = await earlyExit(["--insecure", "--fault", "create:explode"]);
  expect(failed.code).toBe(2);
  expect(failed.stderr).toMatch(/fault mode "explode" is not one of/);
});

it("on SIGTERM lets a call in flight finish, then exits 0", async () => {
  const mock = await spawnMock([
    "--insecure",
    "--log-level",
    "debug",
    "--fault",
    "describe:delay:delayMs=1500",
  ]);
  const client = createProviderClient(mock.url, { retry: false });
  try {
    const inFlight = client.describe({ vmId: "vm-000001" });
    // Wait until the server has the call, then ask it to stop.
    while (!mock.logs.some((l) => l["msg"] === "call started" && l["rpc"] === "Describe")) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const exited = mock.stop("SIGTERM");
    await expect(inFlight).resolves.toMatchObject({ exists: false });
    expect(await exited).toBe(0);
    expect(mock.logs.map((l) => l["msg"])).toEqual(
      expect.arrayContaining(["draining", "provider stopped"]),
    );
    const error = await client.describe({ vmId: "vm-000001" }).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNAVAILABLE)).toBe(true);
  } finally {
    client.close();
    mock.child.kill("SIGKILL");
  }
});

it("keeps its inventory across a restart with --state", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mock-process-state-"));
  const state = join(dir, "state.json");
  try {
    const first = await spawnMock(["--insecure", "--state", state]);
    const client = createProviderClient(first.url, { retry: false });
    const { vmId, task } = await client.create({
      name: "survivor",
      class: { cpu: 1, memoryMib: 256 },
    });
    await client.waitForTask(task, { pollIntervalMs: 10 });
    client.close();
    expect(await first.stop()).toBe(0);

    const second = await spawnMock(["--insecure", "--state", state]);
    const again = createProviderClient(second.url, { retry: false });
    try {
      expect((await again.describe({ vmId })).vm?.name).toBe("survivor");
    } finally {
      again.close();
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
