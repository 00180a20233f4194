import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ConditionStatus, Kind, type VirtualMachine } from "@virtrigaud/proto/manager";
import { stack, vmManifest } from "./fixtures.js";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.js";
import {
  type ServerProcess,
  eventually,
  runManager,
  spawnManager,
  spawnMock,
  vrtg,
} from "./processes.js";
import { managerClient } from "./replicas.js";

// A VM's cloud-init from a Secret, against the built manager and
// provider-mock: the value reaches the provider in Create, and nowhere else
// the manager writes.

/** The secret in the cloud-init document; it must reach Create and nothing else. */
const secretWord = "pw-3c9e61d0-unique";
const userData = `#cloud-config\nchpasswd:\n  list: |\n    debian:${secretWord}\n`;

/** The VM manifest of the test stack, its cloud-init from the Secret `secret`. */
function vmFromSecret(name: string, secret: string): string {
  return vmManifest(name).replace(
    / {2}userData:\n {4}cloudInit:\n {6}inline: \|\n( {8}.*\n)+/,
    `  userData:\n    cloudInit:\n      secretRef:\n        name: ${secret}\n`,
  );
}

function secretManifest(name: string, key: string): string {
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: Secret
metadata:
  name: ${name}
data:
  ${key}: ${Buffer.from(userData).toString("base64")}
`;
}

describe("a VM's cloud-init from a Secret", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-secret-vm-"));
  /** provider-mock keeps the cloud-init each VM was created with here, as a hypervisor would. */
  const stateFile = join(dir, "mock-state.json");
  let provider: ServerProcess;
  let manager: ServerProcess;
  let receiver: OtlpReceiver;

  /** The user data the provider holds for a VM of the manager's, once it has it. */
  const userDataAtProvider = (name: string) =>
    eventually(
      () => {
        const state = JSON.parse(readFileSync(stateFile, "utf8")) as {
          vms: Array<{ name: string; cloudInit?: { userData: string } }>;
        };
        return state.vms.find((vm) => vm.name.endsWith(name))?.cloudInit?.userData;
      },
      10_000,
      `${name}'s cloud-init at the provider`,
    );
  const atProvider = (name: string): boolean => {
    try {
      return readFileSync(stateFile, "utf8").includes(name);
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    provider = await spawnMock(["--state", stateFile]);
    receiver = await startOtlpReceiver();
    const keyFile = join(dir, "keys.yaml");
    expect((await runManager(["secret-key", "generate", keyFile])).code).toBe(0);
    manager = await spawnManager(
      join(dir, "data"),
      ["--secret-key-file", keyFile, "--log-level", "debug", "--health-interval", "300ms"],
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    );
    await vrtg(manager.url, ["apply", "-f", "-"], stack(provider.url));
  }, 60_000);

  afterAll(async () => {
    await manager?.stop();
    await provider?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const vmNamed = async (name: string) =>
    (await managerClient(manager).get({ kind: Kind.VIRTUAL_MACHINE, name })).resource?.kind
      .value as VirtualMachine;
  const ready = (vm: VirtualMachine) => vm.status?.conditions.find((c) => c.type === "Ready");

  it("creates the VM with the Secret's user data, which appears in no status, event, log or trace", async () => {
    await vrtg(manager.url, ["apply", "-f", "-"], secretManifest("boot", "user-data"));
    expect(
      (await vrtg(manager.url, ["apply", "-f", "-"], vmFromSecret("web-1", "boot"))).code,
    ).toBe(0);
    await eventually(
      async () => ready(await vmNamed("web-1"))?.status === ConditionStatus.TRUE,
      20_000,
      "web-1 Ready",
    );
    expect(await userDataAtProvider("web-1")).toBe(userData);

    const vm = (await vrtg(manager.url, ["get", "vm", "web-1", "-o", "json"])).stdout;
    expect(vm).toContain('"secretRef"');
    const events = (await vrtg(manager.url, ["events"])).stdout;
    // Spans are exported in batches: wait for the manager's Create span.
    await eventually(
      () => receiver.spans.some((s) => s.name.endsWith("/Create")),
      15_000,
      "the Create span",
    );
    const places: Array<[string, string]> = [
      ["status", vm],
      ["events", events],
      ["logs", JSON.stringify(manager.logs)],
      ["traces", JSON.stringify(receiver.spans)],
    ];
    for (const [what, text] of places)
      expect(`${what}: ${text.includes(secretWord) ? "holds the secret" : "clean"}`).toBe(
        `${what}: clean`,
      );
  });

  it("waits for a missing Secret or key with a condition and an event, then creates the VM once it is there", async () => {
    await vrtg(manager.url, ["apply", "-f", "-"], vmFromSecret("web-2", "later"));
    const waiting = await eventually(
      async () => {
        const c = ready(await vmNamed("web-2"));
        return c?.reason === "SecretNotFound" ? c : undefined;
      },
      10_000,
      "web-2 waiting for its Secret",
    );
    expect(waiting.status).toBe(ConditionStatus.FALSE);
    expect(waiting.message).toBe("Secret later, named by the user data secretRef, does not exist");
    const events = await managerClient(manager).listEvents({
      kind: Kind.VIRTUAL_MACHINE,
      name: "web-2",
    });
    expect(events.events.map((e) => [e.type, e.reason, e.message])).toContainEqual([
      2,
      "SecretNotFound",
      "Secret later, named by the user data secretRef, does not exist",
    ]);
    // A Secret without a key cloud-init reads: still waiting, now for the key.
    await vrtg(manager.url, ["apply", "-f", "-"], secretManifest("later", "password"));
    await eventually(
      async () => ready(await vmNamed("web-2"))?.reason === "SecretKeyNotFound",
      10_000,
      "web-2 waiting for the key",
    );
    expect(atProvider("web-2")).toBe(false);

    await vrtg(manager.url, ["apply", "-f", "-"], secretManifest("later", "userdata"));
    await eventually(
      async () => ready(await vmNamed("web-2"))?.status === ConditionStatus.TRUE,
      20_000,
      "web-2 Ready once its Secret has the key",
    );
    expect(await userDataAtProvider("web-2")).toBe(userData);
  });
});
