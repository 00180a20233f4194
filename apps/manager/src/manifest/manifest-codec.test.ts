import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import {
  type Provider as ProviderResource,
  PowerState,
  ProviderType,
  RuntimeMode,
  type VMClass,
  type VirtualMachine,
  Firmware,
} from "@virtrigaud/proto/manager";
import { decodeManifest, encodeManifest } from "./manifest-codec.js";
import { fromResource } from "./kinds.js";
import { parseManifests } from "./parse-manifests.js";

// A VirtualMachine and a Provider as users of the reference system write
// them, with the fields this manager does not act on included.
const vmYaml = `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: demo-web-01
  namespace: default
  labels:
    app: demo-web
spec:
  providerRef:
    name: vsphere-prod
    namespace: default
  classRef:
    name: medium
  imageRef:
    name: ubuntu-22-template
  networks:
    - name: app-net
      networkRef:
        name: app-network
      ipAddress: ""
    - name: mgmt-net
      networkRef:
        name: mgmt-network
      ipAddress: "192.168.1.100"
      macAddress: "00:50:56:a1:b2:c3"
  disks:
    - name: data-disk
      sizeGiB: 100
      type: thin
      expandPolicy: Offline
      storageClass: fast-ssd
  userData:
    cloudInit:
      inline: |
        #cloud-config
        hostname: demo-web-01
    ignition: null
  placement:
    cluster: prod-cluster-01
    datastore: vsanDatastore
    folder: "/Demo/WebServers"
    resourcePool: WebApps-RP
  powerState: OffGraceful
  tags:
    - demo
  resources:
    cpu: 4
    memoryMiB: 8192
    gpu:
      count: 1
      type: nvidia-t4
  placementRef:
    name: web-placement-policy
  snapshot:
    revertToRef:
      name: pre-update-snapshot
  lifecycle:
    preStop:
      exec:
        command: ["/opt/app/shutdown.sh"]
    gracefulShutdownTimeout: 60s
`;

const providerYaml = `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: vsphere-prod
spec:
  type: vsphere
  endpoint: "https://vcenter.example.com:9443"
  credentialSecretRef:
    name: vsphere-credentials
  defaults:
    datastore: vsanDatastore
    network: VM-Network
  rateLimit:
    qps: 10
    burst: 20
  runtime:
    mode: Remote
    replicas: 1
    service:
      port: 9443
      tls:
        enabled: true
        secretRef:
          name: provider-tls
    resources:
      requests:
        cpu: 100m
    nodeSelector:
      kubernetes.io/arch: amd64
    tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
    env:
      - name: LOG_LEVEL
        value: "info"
  healthCheck:
    enabled: true
    interval: 30s
    failureThreshold: 3
  connectionPooling:
    maxConnections: 10
    idleTimeout: 5m
`;

function decodeYaml(yaml: string) {
  const [first] = parseManifests(yaml, "test.yaml");
  return decodeManifest(first?.manifest);
}

function invalid(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    if (ProviderError.is(err, ErrorReason.INVALID_SPEC)) return err;
    throw err;
  }
  throw new Error("expected INVALID_SPEC");
}

describe("manifests", () => {
  it("reads a VirtualMachine written in the v1beta1 format, extra fields and all", () => {
    const vm = fromResource(decodeYaml(vmYaml))?.message as VirtualMachine;
    expect(vm.metadata?.name).toBe("demo-web-01");
    expect(vm.spec?.powerState).toBe(PowerState.OFF_GRACEFUL);
    expect(vm.spec?.resources?.memoryMib).toBe(8192);
    expect(vm.spec?.disks[0]?.sizeGib).toBe(100);
    expect(vm.spec?.networks[1]?.macAddress).toBe("00:50:56:a1:b2:c3");
    expect(vm.spec?.userData?.cloudInit?.inline).toContain("hostname: demo-web-01");
    expect(vm.spec?.userData?.ignition).toBeUndefined();
    expect(vm.spec?.snapshot?.revertToRef?.name).toBe("pre-update-snapshot");
    expect(vm.spec?.lifecycle?.gracefulShutdownTimeout).toBe("60s");
  });

  it("reads a Provider with its Kubernetes deployment settings", () => {
    const p = fromResource(decodeYaml(providerYaml))?.message as ProviderResource;
    expect(p.spec?.type).toBe(ProviderType.VSPHERE);
    expect(p.spec?.runtime?.mode).toBe(RuntimeMode.REMOTE);
    expect(p.spec?.rateLimit).toMatchObject({ qps: 10, burst: 20 });
    expect(p.spec?.runtime?.nodeSelector["kubernetes.io/arch"]).toBe("amd64");
  });

  it("writes manifests back with the same field names and enum spellings", () => {
    const manifest = encodeManifest(decodeYaml(vmYaml));
    const spec = manifest["spec"] as Record<string, unknown>;
    expect(manifest["apiVersion"]).toBe("infra.virtrigaud.io/v1beta1");
    expect(manifest["kind"]).toBe("VirtualMachine");
    expect(spec["powerState"]).toBe("OffGraceful");
    expect((spec["resources"] as Record<string, unknown>)["memoryMiB"]).toBe(8192);
    expect((spec["disks"] as Array<Record<string, unknown>>)[0]).toMatchObject({
      sizeGiB: 100,
      type: "thin",
      expandPolicy: "Offline",
    });
    expect(decodeManifest(manifest)).toEqual(decodeYaml(vmYaml));
  });

  it.each([
    ["On", PowerState.ON],
    ["Off", PowerState.OFF],
    ["OffGraceful", PowerState.OFF_GRACEFUL],
  ])("maps powerState %s to its enum value, and back", (text, value) => {
    const vm = fromResource(
      decodeYaml(vmYaml.replace("powerState: OffGraceful", `powerState: ${text}`)),
    )?.message as VirtualMachine;
    expect(vm.spec?.powerState).toBe(value);
    expect(
      (
        encodeManifest(
          decodeYaml(vmYaml.replace("powerState: OffGraceful", `powerState: ${text}`)),
        )["spec"] as Record<string, unknown>
      )["powerState"],
    ).toBe(text);
  });

  it("takes a VMClass's memory as a quantity and its firmware by name", () => {
    const c = fromResource(
      decodeManifest({
        apiVersion: "infra.virtrigaud.io/v1beta1",
        kind: "VMClass",
        metadata: { name: "m" },
        spec: {
          cpu: 2,
          memory: "4Gi",
          firmware: "UEFI",
          diskDefaults: { type: "eagerzeroedthick", size: "40Gi" },
        },
      }),
    )?.message as VMClass;
    expect(c.spec?.memory).toBe("4Gi");
    expect(c.spec?.firmware).toBe(Firmware.UEFI);
  });

  it.each([
    [
      "an unknown field",
      { spec: { providerRef: { name: "p" }, classRef: { name: "c" }, cpus: 4 } },
      "spec.cpus",
      "unknown field",
    ],
    [
      "a misspelt enum",
      { spec: { powerState: "on" } },
      "spec.powerState",
      'must be one of On, Off, OffGraceful, Suspended, got "on"',
    ],
    [
      "a string for a number",
      { spec: { disks: [{ name: "d", sizeGiB: "10" }] } },
      "spec.disks[0].sizeGiB",
      "must be a whole number",
    ],
    [
      "a fraction for a number",
      { spec: { resources: { cpu: 1.5 } } },
      "spec.resources.cpu",
      "must be a whole number",
    ],
    [
      "an object for a list",
      { spec: { networks: { name: "n" } } },
      "spec.networks",
      "must be a list",
    ],
    [
      "a deep unknown field",
      { spec: { userData: { cloudInit: { inlined: "x" } } } },
      "spec.userData.cloudInit.inlined",
      "unknown field",
    ],
    [
      "a number as a label value",
      { metadata: { name: "x", labels: { tier: 3 } } },
      'metadata.labels["tier"]',
      "must be a string",
    ],
  ])("rejects %s with the field's manifest path", (_what, patch, field, message) => {
    const error = invalid(() =>
      decodeManifest({
        apiVersion: "infra.virtrigaud.io/v1beta1",
        kind: "VirtualMachine",
        metadata: { name: "x" },
        ...patch,
      }),
    );
    expect(error.field).toBe(field);
    expect(error.rawMessage).toContain(message);
  });

  it("rejects another apiVersion or an unknown kind", () => {
    expect(
      invalid(() => decodeManifest({ apiVersion: "infra.virtrigaud.io/v1alpha1", kind: "VMClass" }))
        .field,
    ).toBe("apiVersion");
    expect(
      invalid(() => decodeManifest({ apiVersion: "infra.virtrigaud.io/v1beta1", kind: "VMSet" }))
        .rawMessage,
    ).toContain("must be one of Secret, Provider, VMClass");
  });

  it("reads streams of YAML documents and JSON, and names the line of a syntax error", () => {
    expect(parseManifests("a: 1\n---\n---\nb: 2\n", "f.yaml").map((m) => m.source)).toEqual([
      "f.yaml (document 1)",
      "f.yaml (document 3)",
    ]);
    expect(parseManifests('{"kind": "VMClass"}', "f.json")).toHaveLength(1);
    expect(() => parseManifests("a: [1, 2\nb: 3\n", "bad.yaml")).toThrow(
      /bad\.yaml, line \d+ column \d+/,
    );
  });
});

describe("RBAC manifests", () => {
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "vm-operator", namespace: "team-a" },
    rules: [
      {
        apiGroups: [""],
        resources: ["virtualmachines"],
        verbs: ["get", "update"],
        resourceNames: ["web"],
      },
    ],
  };

  it("reads and writes them as Kubernetes does: rules, subjects and roleRef at the top", () => {
    const resource = decodeManifest(role);
    const inner = fromResource(resource);
    expect(inner?.info.name).toBe("Role");
    expect(encodeManifest(resource)).toEqual(role);
    const binding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "auditors" },
      subjects: [{ kind: "Group", name: "auditors" }],
      roleRef: { kind: "ClusterRole", name: "viewer" },
    };
    expect(encodeManifest(decodeManifest(binding))).toEqual(binding);
  });

  it("names problems by their manifest paths and wants Kubernetes' apiVersion", () => {
    const field = (manifest: unknown) => {
      try {
        decodeManifest(manifest);
      } catch (err) {
        if (ProviderError.is(err)) return `${err.field}: ${err.rawMessage}`;
      }
      return "accepted";
    };
    expect(field({ ...role, rules: [{ verbs: "get" }] })).toBe(
      "rules[0].verbs: must be a list, got a string",
    );
    expect(field({ ...role, spec: {} })).toBe("spec: unknown field");
    expect(field({ ...role, apiVersion: "infra.virtrigaud.io/v1beta1" })).toBe(
      'apiVersion: must be rbac.authorization.k8s.io/v1, got "infra.virtrigaud.io/v1beta1"',
    );
  });
});
