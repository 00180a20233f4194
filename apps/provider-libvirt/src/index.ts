/**
 * The VirtRigaud provider for libvirt/KVM hosts: virsh over one SSH
 * connection (or a local libvirt URI), domain XML built from the typed
 * request, disks in a storage pool, cloud-init NoCloud seeds.
 *
 * @packageDocumentation
 */
export {
  createLibvirtProvider,
  libvirtCapabilities,
  type LibvirtProvider,
} from "./libvirt-provider.js";
export type { LibvirtProviderOptions } from "./libvirt-options.js";
export { libvirtFlags, libvirtFlagsHelp, libvirtOptionsFromFlags } from "./libvirt-flags.js";
export {
  createLibvirtHost,
  type LibvirtHost,
  type LibvirtHostOptions,
  type HostCallOptions,
  type VirshArgv,
  type VirshOutcome,
} from "./host/libvirt-host.js";
export { createSshTransport, type SshTransportOptions } from "./host/ssh-transport.js";
export { createLocalTransport } from "./host/local-transport.js";
export type { HostTransport } from "./host/host-transport.js";
export { buildDomainXml } from "./xml/domain-xml.js";
export type { DomainSpec, DiskDevice, NicDevice, OwnerRecord } from "./xml/domain-spec.js";
export {
  buildSeedDocuments,
  buildMetaData,
  buildNetworkConfig,
} from "./cloud-init/seed-documents.js";
