import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ConditionStatus, EventType, Kind, type Provider } from "@virtrigaud/proto/manager";
import {
  type ServerProcess,
  eventually,
  freePort,
  runManager,
  spawnManager,
  spawnMock,
  vrtg,
} from "./processes.js";
import { managerClient } from "./replicas.js";

// A Provider's credentials from a Secret, against provider-mock (which names
// the keys it holds in Validate): sent again to a restarted provider, and
// never over plaintext to another host.

const secret = `apiVersion: infra.virtrigaud.io/v1beta1
kind: Secret
metadata:
  name: mock-credentials
stringData:
  username: admin
  password: pw-71c2a9-mock
`;

const provider = (name: string, endpoint: string) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: ${name}
spec:
  type: mock
  endpoint: ${endpoint}
  credentialSecretRef:
    name: mock-credentials
`;

const heldKeys = "credentials from the manager (password, username)";

describe("Provider credentials sent with SetCredentials", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-provider-credentials-"));
  let port: number;
  let mock: ServerProcess;
  let manager: ServerProcess;

  beforeAll(async () => {
    port = await freePort();
    mock = await spawnMock(["--listen", `127.0.0.1:${port}`]);
    const keyFile = join(dir, "keys.yaml");
    expect((await runManager(["secret-key", "generate", keyFile])).code).toBe(0);
    manager = await spawnManager(join(dir, "data"), [
      "--secret-key-file",
      keyFile,
      "--health-interval",
      "300ms",
      "--max-probe-interval",
      "1s",
    ]);
    expect((await vrtg(manager.url, ["apply", "-f", "-"], secret)).code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await manager?.stop();
    await mock?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ready = async (name: string) => {
    const { resource } = await managerClient(manager).get({ kind: Kind.PROVIDER, name });
    return (resource?.kind.value as Provider).status?.conditions.find((c) => c.type === "Ready");
  };
  const readyEvents = async (name: string) =>
    (await managerClient(manager).listEvents({ kind: Kind.PROVIDER, name })).events.filter(
      (e) => e.reason === "ProviderReady",
    );

  it("sends them before the first Validate, and again to the provider restarted", async () => {
    const endpoint = `http://127.0.0.1:${port}`;
    expect((await vrtg(manager.url, ["apply", "-f", "-"], provider("mock", endpoint))).code).toBe(
      0,
    );
    await eventually(
      async () => (await ready("mock"))?.status === ConditionStatus.TRUE,
      15_000,
      "the Provider Ready",
    );
    // Validate said what the provider held when it first passed.
    expect((await readyEvents("mock")).map((e) => e.message)).toEqual([
      `mock provider with 0 VMs, ${heldKeys}`,
    ]);

    // A new process on the same port holds nothing until the manager sends them again.
    await mock.stop();
    await eventually(
      async () => (await ready("mock"))?.status === ConditionStatus.FALSE,
      15_000,
      "the Provider not Ready while the provider is down",
    );
    mock = await spawnMock(["--listen", `127.0.0.1:${port}`]);
    const again = await eventually(
      async () => {
        const events = await readyEvents("mock");
        return events.length === 2 ? events : undefined;
      },
      15_000,
      "the Provider Ready again",
    );
    expect(again.map((e) => e.message)).toEqual([
      `mock provider with 0 VMs, ${heldKeys}`,
      `mock provider with 0 VMs, ${heldKeys}`,
    ]);
  }, 60_000);

  it("sends nothing over plaintext to another host", async () => {
    // TEST-NET-1: nothing listens there, and nothing is sent to it.
    expect(
      (await vrtg(manager.url, ["apply", "-f", "-"], provider("far", "http://192.0.2.1:9443")))
        .code,
    ).toBe(0);
    const refused = await eventually(
      async () => {
        const c = await ready("far");
        return c?.reason === "CredentialsInsecure" ? c : undefined;
      },
      15_000,
      "the Provider refused as insecure",
    );
    expect(refused.status).toBe(ConditionStatus.FALSE);
    expect(refused.message).toBe(
      "spec.credentialSecretRef: credentials are sent only over TLS or to a loopback endpoint; spec.endpoint is plaintext to another host (use https:// and spec.tls)",
    );
    const events = await managerClient(manager).listEvents({ kind: Kind.PROVIDER, name: "far" });
    expect(events.events.map((e) => [e.type, e.reason])).toContainEqual([
      EventType.WARNING,
      "CredentialsInsecure",
    ]);
  });
});
