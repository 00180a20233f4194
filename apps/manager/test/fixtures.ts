/** Manifests the tests apply, in the infra.virtrigaud.io/v1beta1 format. */
export function stack(endpoint: string, options: { provider?: string; cpu?: number } = {}): string {
  const provider = options.provider ?? "mock";
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: ${provider}
spec:
  type: mock
  endpoint: ${endpoint}
  healthCheck:
    failureThreshold: 2
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: small
spec:
  cpu: ${options.cpu ?? 2}
  memory: 2Gi
  firmware: BIOS
  diskDefaults:
    type: thin
    sizeGiB: 20
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: debian
spec:
  source:
    libvirt:
      path: /var/lib/libvirt/images/debian-12.qcow2
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata:
  name: default-net
spec:
  network:
    libvirt:
      networkName: default
      model: virtio
`;
}

/** A VirtualMachine manifest on the test stack. */
export function vmManifest(
  name: string,
  extra: {
    powerState?: string;
    cpu?: number;
    dataGiB?: number;
    provider?: string;
    revertTo?: string;
  } = {},
): string {
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: ${name}
  labels:
    app: web
spec:
  providerRef:
    name: ${extra.provider ?? "mock"}
  classRef:
    name: small
  imageRef:
    name: debian
  networks:
    - name: default-net
  disks:
    - name: data
      sizeGiB: ${extra.dataGiB ?? 10}
  powerState: ${extra.powerState ?? "On"}
${extra.cpu ? `  resources:\n    cpu: ${extra.cpu}\n` : ""}${extra.revertTo ? `  snapshot:\n    revertToRef:\n      name: ${extra.revertTo}\n` : ""}  userData:
    cloudInit:
      inline: |
        #cloud-config
        hostname: ${name}
`;
}
