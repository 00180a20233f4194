import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import {
  ConditionStatus,
  EventType,
  Kind,
  ManagerService,
  type VirtualMachine,
  VirtualMachinePhase,
} from "@virtrigaud/proto/manager";
import { fromResource } from "../src/manifest/kinds.js";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { type ServerProcess, eventually, spawnManager, spawnVsphere } from "./processes.js";

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

/**
 * A vSphere folder that does not exist: the VM sat "Creating" for ever with
 * nothing said. Against vcsim, through provider-vsphere and the manager as
 * processes.
 */
describe("a vSphere refusal reaches the VirtualMachine", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-vsphere-refusals-"));
  const name = `nowhere-${randomBytes(3).toString("hex")}`;
  const folder = `no-such-folder-${randomBytes(3).toString("hex")}`;
  let provider: ServerProcess | undefined;
  let manager: ServerProcess | undefined;
  let client: ReturnType<typeof createServiceClient<typeof ManagerService>>;

  beforeAll(async () => {
    const vc = vcsim();
    provider = await spawnVsphere(
      ["--vcenter-url", vc.url, "--vcenter-ca", vc.caFile, "--cluster", "DC0_C0"],
      { VSPHERE_USERNAME: vc.username, VSPHERE_PASSWORD: vc.password },
    );
    manager = await spawnManager(join(dir, "data"), ["--health-interval", "500ms"]);
    client = createServiceClient(ManagerService, manager.url);
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await manager?.stop();
    await provider?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows a Create refused for a folder that does not exist, instead of Creating for ever", async () => {
    const yaml = `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: vcenter
spec:
  type: vsphere
  endpoint: ${provider?.url}
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
      templateName: ${vcsim().template}
---
apiVersion: infra.virtrigaud.io/v1beta1
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
  placement:
    folder: ${folder}
  powerState: Off
`;
    for (const { manifest } of parseManifests(yaml, "test"))
      await client.apply({ resource: decodeManifest(manifest) });
    const vm = await eventually(
      async () => {
        const { resource } = await client.get({ kind: Kind.VIRTUAL_MACHINE, name });
        const v = fromResource(resource)?.message as VirtualMachine;
        return v.status?.conditions.find((c) => c.type === "Ready" && c.reason === "CreateFailed")
          ? v
          : undefined;
      },
      30_000,
      "CreateFailed",
    );
    const ready = vm.status?.conditions.find((c) => c.type === "Ready");
    expect(ready?.status).toBe(ConditionStatus.FALSE);
    expect(ready?.message).toContain(folder);
    expect(vm.status?.phase).toBe(VirtualMachinePhase.FAILED);
    const { events } = await client.listEvents({ kind: Kind.VIRTUAL_MACHINE, name });
    const warning = events.find((e) => e.reason === "CreateFailed");
    expect(warning?.type).toBe(EventType.WARNING);
    expect(warning?.message).toBe(ready?.message);
  }, 60_000);
});
