import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import {
  type Condition,
  ConditionStatus,
  EventType,
  Kind,
  ManagerService,
  type VMImage,
  type VirtualMachine,
  VirtualMachinePhase,
} from "@virtrigaud/proto/manager";
import { fromResource } from "../src/manifest/kinds.js";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { type ServerProcess, eventually, spawnLibvirt, spawnManager } from "./processes.js";
import { libvirtHostFlags, libvirtTestbed, removeLibvirtObjects } from "@virtrigaud/testbed";

const run = promisify(execFile);

/**
 * What the reported case was: a libvirt network and an image path that do
 * not exist were accepted, the VM sat "Creating" for ever with nothing said,
 * and the image showed Ready. Against the real libvirtd, through
 * provider-libvirt and the manager as processes.
 */
// Each wait covers a probe, an SSH round trip and a reconcile: seconds on a
// quiet machine, tens of seconds on a busy 2-core one.
const waitMs = 90_000;

describe("libvirt refusals reach the resources", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-libvirt-refusals-"));
  const suffix = randomBytes(3).toString("hex");
  const pool = `vrtg-refusals-${suffix}`;
  const network = `no-such-net-${suffix}`;
  const missingPath = `/nonexistent/${suffix}/debian-12.qcow2`;
  let poolDir: string;
  let image: string;
  let provider: ServerProcess | undefined;
  let manager: ServerProcess | undefined;
  let client: ReturnType<typeof createServiceClient<typeof ManagerService>>;
  const virsh = async (...args: string[]) =>
    (await run("virsh", ["-q", "-c", libvirtTestbed().uri, ...args])).stdout.trim();
  const apply = async (yaml: string) => {
    for (const { manifest } of parseManifests(yaml, "test"))
      await client.apply({ resource: decodeManifest(manifest) });
  };
  const get = async <T>(kind: Kind, name: string): Promise<T> =>
    fromResource((await client.get({ kind, name })).resource)?.message as T;
  const readyOf = (resource: { status?: { conditions: Condition[] } | undefined }) =>
    resource.status?.conditions.find((c) => c.type === "Ready");
  const warning = async (kind: Kind, name: string, reason: string) =>
    (await client.listEvents({ kind, name })).events.find(
      (e) => e.reason === reason && e.type === EventType.WARNING,
    );

  beforeAll(async () => {
    const bed = libvirtTestbed();
    poolDir = join(bed.dir, "manager-refusals", suffix);
    mkdirSync(poolDir, { recursive: true });
    image = join(poolDir, "..", `blank-${suffix}.qcow2`);
    await run("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
    provider = await spawnLibvirt([
      ...libvirtHostFlags(bed),
      "--storage-pool",
      pool,
      "--create-pool-dir",
      poolDir,
      "--domain-type",
      "qemu",
    ]);
    manager = await spawnManager(join(dir, "data"), [
      "--health-interval",
      "500ms",
      "--drift-page-interval",
      "500ms",
    ]);
    client = createServiceClient(ManagerService, manager.url);
    await apply(`apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: kvm
spec:
  type: libvirt
  endpoint: ${provider.url}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: tiny
spec:
  cpu: 1
  memory: 256Mi
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: blank
spec:
  source:
    libvirt:
      path: ${image}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: gone
spec:
  source:
    libvirt:
      path: ${missingPath}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata:
  name: nowhere
spec:
  network:
    libvirt:
      networkName: ${network}
`);
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await manager?.stop();
    await provider?.stop();
    await removeLibvirtObjects(libvirtTestbed(), {
      domains: [`net-${suffix}`, `img-${suffix}`],
      pools: [pool],
    });
    rmSync(poolDir, { recursive: true, force: true });
    rmSync(image, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it(
    "shows an image whose path is not on the host as not available, and one whose path is as Ready",
    async () => {
      const gone = await eventually(
        async () => {
          const i = await get<VMImage>(Kind.VM_IMAGE, "gone");
          return readyOf(i)?.reason === "PrepareFailed" ? i : undefined;
        },
        waitMs,
        "gone: PrepareFailed",
      );
      expect(gone.status?.ready).toBe(false);
      expect(gone.status?.providerStatus["default/kvm"]?.available).toBe(false);
      const expected = `[invalid_spec] source.path: ${missingPath} is not a disk image on the host`;
      expect(readyOf(gone)?.message).toBe(`default/kvm: ${expected}`);
      expect((await warning(Kind.VM_IMAGE, "gone", "PrepareFailed"))?.message).toBe(
        `default/kvm: ${expected}`,
      );
      const blank = await eventually(
        async () => {
          const i = await get<VMImage>(Kind.VM_IMAGE, "blank");
          return i.status?.ready ? i : undefined;
        },
        waitMs,
        "blank Ready",
      );
      expect(blank.status?.providerStatus["default/kvm"]?.path).toBe(image);
    },
    2 * waitMs,
  );

  it(
    "keeps a VM of that image waiting, and says why",
    async () => {
      await apply(`apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: img-${suffix}
spec:
  providerRef:
    name: kvm
  classRef:
    name: tiny
  imageRef:
    name: gone
  powerState: Off
`);
      const vm = await eventually(
        async () => {
          const v = await get<VirtualMachine>(Kind.VIRTUAL_MACHINE, `img-${suffix}`);
          return readyOf(v)?.reason === "ImageNotReady" ? v : undefined;
        },
        waitMs,
        "ImageNotReady",
      );
      expect(readyOf(vm)?.message).toContain(`${missingPath} is not a disk image on the host`);
    },
    2 * waitMs,
  );

  it(
    "shows a Create refused for a network that does not exist, with the provider's field, instead of Creating for ever",
    async () => {
      await apply(`apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: net-${suffix}
spec:
  providerRef:
    name: kvm
  classRef:
    name: tiny
  imageRef:
    name: blank
  networks:
    - name: nowhere
  powerState: Off
`);
      const vm = await eventually(
        async () => {
          const v = await get<VirtualMachine>(Kind.VIRTUAL_MACHINE, `net-${suffix}`);
          return readyOf(v)?.reason === "CreateFailed" ? v : undefined;
        },
        waitMs,
        "CreateFailed",
      );
      const expected = `[invalid_spec] networks[0].network: no libvirt network named "${network}"`;
      expect(readyOf(vm)?.status).toBe(ConditionStatus.FALSE);
      expect(readyOf(vm)?.message).toBe(expected);
      expect(vm.status?.phase).toBe(VirtualMachinePhase.FAILED);
      expect((await warning(Kind.VIRTUAL_MACHINE, `net-${suffix}`, "CreateFailed"))?.message).toBe(
        expected,
      );
      await expect(virsh("dominfo", `net-${suffix}`)).rejects.toThrow();
    },
    2 * waitMs,
  );
});
