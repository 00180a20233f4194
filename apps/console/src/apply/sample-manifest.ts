/**
 * What the editor starts with: a VirtualMachine as deploy/docker/manifests/sample-vm.yaml
 * writes it, on the Provider, class, image and network that sample declares.
 */
export const sampleManifest = `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: web-1
  namespace: default
  labels:
    app: web
spec:
  providerRef:
    name: mock
  classRef:
    name: small
  imageRef:
    name: debian
  networks:
    - name: default-net
  powerState: "On"
`;
