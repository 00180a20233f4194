import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  ConditionStatus,
  Kind,
  type Provider,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.js";
import {
  type ServerProcess,
  eventually,
  runManager,
  spawnManager,
  spawnVsphere,
  vrtg,
} from "./processes.js";
import { managerClient } from "./replicas.js";

// provider-vsphere started without vCenter credentials gets them from the
// manager, which reads them from the Secret the Provider's
// credentialSecretRef names. Against vcsim; every process real.

function vcsim() {
  const env = process.env;
  const url = env["VIRTRIGAUD_VCSIM_URL"];
  if (!url)
    throw new Error(
      "the vcsim test bed is not up: run tools/testbed/up.sh vcsim and source its env",
    );
  return {
    url,
    username: env["VIRTRIGAUD_VCSIM_USERNAME"] ?? "",
    password: env["VIRTRIGAUD_VCSIM_PASSWORD"] ?? "",
    caFile: env["VIRTRIGAUD_VCSIM_CA_FILE"] ?? "",
    template: env["VIRTRIGAUD_VCSIM_TEMPLATE"] ?? "",
  };
}

/** A wrong password, as unique as the right one, to look for everywhere. */
const wrongPassword = `wrong-${randomBytes(8).toString("hex")}`;

const secret = (username: string, password: string) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: Secret
metadata:
  name: vcenter-credentials
data:
  username: ${Buffer.from(username).toString("base64")}
  password: ${Buffer.from(password).toString("base64")}
`;

const infrastructure = (
  endpoint: string,
  template: string,
) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: vcenter
spec:
  type: vsphere
  endpoint: ${endpoint}
  credentialSecretRef:
    name: vcenter-credentials
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: tiny
spec:
  cpu: 1
  memory: 512Mi
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: template
spec:
  source:
    vsphere:
      templateName: ${template}
`;

const vm = (name: string) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: ${name}
spec:
  providerRef:
    name: vcenter
  classRef:
    name: tiny
  imageRef:
    name: template
  powerState: Off
`;

describe("vCenter credentials from a Secret, delivered with SetCredentials", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-vsphere-credentials-"));
  const name = `credited-${randomBytes(3).toString("hex")}`;
  let receiver: OtlpReceiver;
  let provider: ServerProcess;
  let manager: ServerProcess;

  beforeAll(async () => {
    const vc = vcsim();
    receiver = await startOtlpReceiver();
    const tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    // No credentials of its own: empty values are no values.
    provider = await spawnVsphere(
      ["--vcenter-url", vc.url, "--vcenter-ca", vc.caFile, "--cluster", "DC0_C0"],
      {
        ...tracing,
        VSPHERE_USERNAME: "",
        VSPHERE_PASSWORD: "",
        VSPHERE_CREDENTIALS_DIR: "",
        VIRTRIGAUD_LOG_LEVEL: "debug",
      },
    );
    const keyFile = join(dir, "keys.yaml");
    expect((await runManager(["secret-key", "generate", keyFile])).code).toBe(0);
    manager = await spawnManager(
      join(dir, "data"),
      ["--secret-key-file", keyFile, "--log-level", "debug", "--health-interval", "300ms"],
      tracing,
    );
  }, 60_000);

  afterAll(async () => {
    await manager?.stop();
    await provider?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ready = async () => {
    const { resource } = await managerClient(manager).get({ kind: Kind.PROVIDER, name: "vcenter" });
    return (resource?.kind.value as Provider).status?.conditions.find((c) => c.type === "Ready");
  };
  const readyWith = (reason: string) =>
    eventually(
      async () => {
        const c = await ready();
        if (c?.reason !== reason) throw new Error(`Ready is ${c?.reason}: ${c?.message}`);
        return c;
      },
      20_000,
      `the Provider Ready with reason ${reason}`,
    );
  const apply = async (yaml: string) =>
    expect((await vrtg(manager.url, ["apply", "-f", "-"], yaml)).code).toBe(0);

  it("waits for the Secret, reports a refused password, and becomes Ready once the Secret is fixed", async () => {
    const vc = vcsim();
    await apply(infrastructure(provider.url, vc.template));
    const missing = await readyWith("CredentialsNotFound");
    expect(missing.status).toBe(ConditionStatus.FALSE);
    expect(missing.message).toBe(
      "Secret vcenter-credentials, named by spec.credentialSecretRef, does not exist",
    );

    await apply(secret(vc.username, wrongPassword));
    const refused = await readyWith("CredentialsRefused");
    expect(refused.status).toBe(ConditionStatus.FALSE);
    expect(refused.message).toBe("vCenter refused the provider's username or password");

    // Fixed at once, not after vCenter's cooldown after a refused login.
    await apply(secret(vc.username, vc.password));
    const fixed = await readyWith("Ready");
    expect(fixed.status).toBe(ConditionStatus.TRUE);

    const events = await managerClient(manager).listEvents({
      kind: Kind.PROVIDER,
      name: "vcenter",
    });
    expect(events.events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(["CredentialsNotFound", "CredentialsRefused", "ProviderReady"]),
    );
  }, 90_000);

  it("creates a VM on the provider with the manager's credentials", async () => {
    await apply(vm(name));
    await eventually(
      async () => {
        const { resource } = await managerClient(manager).get({
          kind: Kind.VIRTUAL_MACHINE,
          name,
        });
        const c = (resource?.kind.value as VirtualMachine).status?.conditions.find(
          (x) => x.type === "Ready",
        );
        return c?.status === ConditionStatus.TRUE;
      },
      30_000,
      `${name} Ready`,
    );
  }, 60_000);

  it("refuses to delete the Secret while the Provider names it", async () => {
    const deleted = await vrtg(manager.url, ["delete", "secret", "vcenter-credentials"]);
    expect(deleted.code).not.toBe(0);
    expect(deleted.stderr).toContain(
      "Secret default/vcenter-credentials holds the credentials of Provider default/vcenter",
    );
  });

  it("holds neither password in any log, status, event or trace of the manager or the provider", async () => {
    const vc = vcsim();
    await eventually(
      () => receiver.spans.some((s) => s.name.endsWith("/SetCredentials")),
      15_000,
      "the SetCredentials span",
    );
    const status = (await vrtg(manager.url, ["get", "provider", "vcenter", "-o", "json"])).stdout;
    const events = (await vrtg(manager.url, ["events"])).stdout;
    const places: Array<[string, string]> = [
      ["provider status", status],
      ["events", events],
      ["manager logs", JSON.stringify(manager.logs)],
      ["provider logs", JSON.stringify(provider.logs)],
      ["traces", JSON.stringify(receiver.spans)],
    ];
    expect(status).toContain('"credentialSecretRef"');
    for (const password of [vc.password, wrongPassword])
      for (const form of [password, Buffer.from(password).toString("base64")])
        for (const [what, text] of places)
          expect(`${what}: ${text.includes(form) ? "holds a password" : "clean"}`).toBe(
            `${what}: clean`,
          );
  });
});
