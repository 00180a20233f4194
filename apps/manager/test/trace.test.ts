import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./otlp-receiver.js";
import { type ServerProcess, eventually, spawnManager, spawnVsphere, vrtg } from "./processes.js";

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
  powerState: On
`;

/**
 * One trace from `vrtg apply` to vCenter: vrtg, the manager and
 * provider-vsphere run as processes against vcsim and export their spans
 * over OTLP/HTTP to a receiver in the test.
 */
describe("tracing end to end", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-trace-"));
  const name = `traced-${randomBytes(3).toString("hex")}`;
  let receiver: OtlpReceiver;
  let provider: ServerProcess | undefined;
  let manager: ServerProcess | undefined;
  let tracing: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const vc = vcsim();
    receiver = await startOtlpReceiver();
    tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    provider = await spawnVsphere(
      ["--vcenter-url", vc.url, "--vcenter-ca", vc.caFile, "--cluster", "DC0_C0"],
      { ...tracing, VSPHERE_USERNAME: vc.username, VSPHERE_PASSWORD: vc.password },
    );
    manager = await spawnManager(
      join(dir, "data"),
      ["--health-interval", "1s", "--drift-page-interval", "1s"],
      tracing,
    );
    writeFileSync(join(dir, "infra.yaml"), infrastructure(provider.url, vc.template));
    writeFileSync(join(dir, "vm.yaml"), vm(name));
  }, 60_000);
  afterAll(async () => {
    await manager?.stop();
    await provider?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("follows vrtg apply through the manager's API and reconcile to provider-vsphere and its vim25 call, in one trace", async () => {
    const server = manager?.url ?? "";
    // The infrastructure first, so that the VM's own apply is what makes it.
    expect((await vrtg(server, ["apply", "-f", join(dir, "infra.yaml")])).code).toBe(0);
    const providerReady = await vrtg(server, [
      "wait",
      "provider",
      "vcenter",
      "--for",
      "condition=Ready",
      "--timeout",
      "30s",
    ]);
    expect(providerReady.stderr).toBe("");
    await eventually(
      async () => {
        const image = await vrtg(server, ["get", "vmimage", "template", "-o", "json"]);
        return image.stdout.includes('"available": true');
      },
      15_000,
      "the template to be available",
    );

    const applied = await vrtg(server, ["apply", "-f", join(dir, "vm.yaml")], "", tracing);
    expect(applied.stdout).toBe(`virtualmachine/${name} created\n`);
    const ready = await vrtg(server, [
      "wait",
      "vm",
      name,
      "--for",
      "condition=Ready",
      "--timeout",
      "60s",
    ]);
    expect(ready.stderr).toBe("");
    expect((await vrtg(server, ["delete", "vm", name, "--wait", "--timeout", "60s"])).code).toBe(0);
    // A clean stop flushes what each process has not exported yet.
    expect(await manager?.stop()).toBe(0);
    expect(await provider?.stop()).toBe(0);

    const spans = receiver.spans;
    const root = spans.find((s) => s.service === "vrtg" && s.name === "vrtg apply");
    expect(root).toBeDefined();
    const trace = spans.filter((s) => s.traceId === root?.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (span: ReceivedSpan | undefined) =>
      span?.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    const one = (label: string, match: (s: ReceivedSpan) => boolean) => {
      const found = trace.filter(match);
      if (!found.length)
        throw new Error(
          `no ${label} span in the trace; it has: ${trace.map((s) => `${s.service}:${s.name}`).join(", ")}`,
        );
      return found;
    };

    // vrtg → the manager's API.
    const [applyCall] = one(
      "vrtg client",
      (s) => s.service === "vrtg" && s.name === "virtrigaud.manager.v1.ManagerService/Apply",
    );
    expect(parentOf(applyCall)).toBe(root);
    const [applyServed] = one(
      "manager API",
      (s) =>
        s.service === "virtrigaud-manager" &&
        s.name === "virtrigaud.manager.v1.ManagerService/Apply",
    );
    expect(parentOf(applyServed)).toBe(applyCall);
    // The API → the VM's reconcile, which creates it at the provider.
    const reconciles = one(
      "reconcile",
      (s) =>
        s.service === "virtrigaud-manager" &&
        s.name === "reconcile vm" &&
        s.attributes["virtrigaud.key"] === `default/${name}`,
    );
    expect(reconciles.map(parentOf)).toContain(applyServed);
    const [createCall] = one(
      "provider client",
      (s) =>
        s.service === "virtrigaud-manager" &&
        s.name === "virtrigaud.provider.v1.ProviderService/Create",
    );
    expect(reconciles).toContain(parentOf(createCall));
    const [createServed] = one(
      "provider server",
      (s) =>
        s.service === "virtrigaud-provider-vsphere" &&
        s.name === "virtrigaud.provider.v1.ProviderService/Create",
    );
    expect(parentOf(createServed)).toBe(createCall);
    // The provider's Create → vCenter: the clone of the template is under it.
    const [clone] = one(
      "vim25 CloneVM_Task",
      (s) => s.service === "virtrigaud-provider-vsphere" && s.name === "vim25.CloneVM_Task",
    );
    let ancestor = parentOf(clone);
    while (ancestor && ancestor !== createServed) ancestor = parentOf(ancestor);
    expect(ancestor).toBe(createServed);
    expect(clone?.attributes["rpc.system"]).toBe("vim25");
    // Spans never carry the vCenter password.
    const password = vcsim().password;
    for (const span of spans)
      for (const value of [span.name, ...Object.values(span.attributes)])
        expect(value).not.toContain(password);
    // The later reconciles (task follow-up, Describe) stay in the same trace.
    expect(reconciles.length).toBeGreaterThan(1);
  }, 150_000);
});
