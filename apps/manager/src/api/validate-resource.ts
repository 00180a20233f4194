import { ProviderError } from "@virtrigaud/contracts";
import {
  type ClusterRole,
  type ClusterRoleBinding,
  CloneType,
  Kind,
  type Role,
  type RoleBinding,
  type Provider as ProviderResource,
  type VMClass,
  type VMClone,
  type VMMigration,
  type VMImage,
  type VMNetworkAttachment,
  type VMSnapshot,
  type VirtualMachine,
  type Secret,
} from "@virtrigaud/proto/manager";
import { type AnyResource, apiVersion, kindInfo } from "../manifest/kinds.js";
import { durationMs, maxDiskBytes, maxMemoryBytes, quantityBytes } from "../manifest/quantities.js";
import { type EndpointAllowlist, judgeEndpointHost } from "../controllers/endpoint-allowlist.js";
import { providerMovedAnnotation } from "../controllers/moved-provider.js";
import {
  findNotShared,
  sharedWithAnnotation,
  sharedWithProblem,
} from "../controllers/namespace-sharing.js";
import { providerVmName } from "../controllers/provider-names.js";
import { loadProviderTls } from "../controllers/provider-tls.js";
import { validateSecret } from "../secrets/validate-secret.js";
import { validateLabelsAndAnnotations } from "./validate-metadata.js";
import { validateBindingSpec, validateRoleSpec } from "./validate-rbac.js";

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const providerName = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** The path of a field in an ApplyRequest, in proto field names, as INVALID_SPEC reports it. */
function pathOf(kind: Kind): (field: string) => string {
  const oneof = kindInfo(kind).oneofCase.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return (field) => `resource.${oneof}.${field}`;
}

function fail(field: string, message: string): never {
  throw ProviderError.invalidSpec(field, message);
}

/** Longer than any duration or quantity: refused before a parser's message could echo it. */
const longestValue = 64;

function checkDuration(at: string, text: string): void {
  if (!text) return;
  if (text.length > longestValue) fail(at, "is too long to be a duration such as 30s or 2m");
  try {
    durationMs(text);
  } catch (err) {
    fail(at, (err as Error).message);
  }
}

/** Checks a quantity and its bounds, in bytes; `limit` says the maximum as people write it. */
function checkQuantity(
  at: string,
  text: string,
  bounds: { min?: number; max: number; limit: string },
): void {
  if (!text) return;
  if (text.length > longestValue) fail(at, "is too long to be a quantity such as 4Gi or 512Mi");
  let bytes: number;
  try {
    bytes = quantityBytes(text);
  } catch (err) {
    return fail(at, (err as Error).message);
  }
  if (bounds.min !== undefined && bytes < bounds.min) fail(at, "must be at least 1Mi");
  if (bytes > bounds.max) fail(at, `must be at most ${bounds.limit}, the most a provider takes`);
}

function checkRefName(at: string, ref: { name: string; namespace?: string } | undefined): void {
  if (!ref) return;
  if (!dnsLabel.test(ref.name))
    fail(
      `${at}.name`,
      "must be lowercase letters, digits and '-', starting and ending with a letter or digit",
    );
  if (ref.namespace && !dnsLabel.test(ref.namespace))
    fail(`${at}.namespace`, "must be lowercase letters, digits and '-'");
}

/**
 * Checks what the request rules on the messages cannot: names, references,
 * quantities, durations, fields that go together, and what may not change
 * once a resource is in use.
 *
 * @throws ProviderError INVALID_SPEC naming the field by its path in the
 * ApplyRequest ("resource.virtual_machine.spec.disks[1].name").
 */
export function validateResource(
  kind: Kind,
  message: AnyResource,
  existing?: AnyResource,
  options: ValidateOptions = {},
): void {
  const at = pathOf(kind);
  const info = kindInfo(kind);
  const expectedApiVersion = info.apiVersion ?? apiVersion;
  if (message.apiVersion && message.apiVersion !== expectedApiVersion)
    fail(at("api_version"), `must be ${expectedApiVersion}`);
  if (message.kind && message.kind !== info.name) fail(at("kind"), `must be ${info.name}`);
  const meta = message.metadata;
  if (!meta) return fail(at("metadata"), "is required");
  if (!dnsLabel.test(meta.name))
    fail(
      at("metadata.name"),
      "must be lowercase letters, digits and '-', starting and ending with a letter or digit",
    );
  if (meta.namespace && !dnsLabel.test(meta.namespace))
    fail(at("metadata.namespace"), "must be lowercase letters, digits and '-'");
  validateLabelsAndAnnotations(meta.labels, meta.annotations, (f) => at(`metadata.${f}`));
  const sharedWith = meta.annotations[sharedWithAnnotation];
  const sharedProblem = sharedWith === undefined ? undefined : sharedWithProblem(sharedWith);
  if (sharedProblem) fail(at(`metadata.annotations["${sharedWithAnnotation}"]`), sharedProblem);
  switch (kind) {
    case Kind.PROVIDER:
      return validateProvider(message as ProviderResource, at, options);
    case Kind.VM_CLASS:
      return validateClass(message as VMClass, at);
    case Kind.VM_IMAGE:
      return validateImage(message as VMImage, at);
    case Kind.VM_NETWORK_ATTACHMENT:
      return validateNetwork(message as VMNetworkAttachment, at);
    case Kind.VIRTUAL_MACHINE:
      return validateVm(message as VirtualMachine, at, existing as VirtualMachine | undefined);
    case Kind.VM_SNAPSHOT:
      return validateSnapshot(message as VMSnapshot, at, existing as VMSnapshot | undefined);
    case Kind.VM_CLONE:
      return validateClone(message as VMClone, at);
    case Kind.VM_MIGRATION:
      return validateMigration(message as VMMigration, at, existing as VMMigration | undefined);
    case Kind.ROLE:
      return validateRoleSpec((message as Role).spec, meta.name, false, at);
    case Kind.CLUSTER_ROLE:
      return validateRoleSpec((message as ClusterRole).spec, meta.name, true, at);
    case Kind.ROLE_BINDING:
      return validateBindingSpec((message as RoleBinding).spec, false, at);
    case Kind.CLUSTER_ROLE_BINDING:
      return validateBindingSpec((message as ClusterRoleBinding).spec, true, at);
    case Kind.SECRET:
      return validateSecret(message as Secret, at);
    default:
      return fail("resource", "has no kind");
  }
}

/** What validation needs of the manager's configuration. */
export interface ValidateOptions {
  /** The only directory Provider TLS files may be in (--provider-tls-dir). */
  providerTlsDir?: string | undefined;
  /** Where Provider endpoints may point (--provider-endpoints); unset, anywhere. */
  providerEndpoints?: EndpointAllowlist | undefined;
}

/**
 * A Provider VMs are bound to keeps its type and endpoint: pointed at
 * another server, the manager would make every bound VM again there (with
 * its cloud-init) and leave the old ones running. When the same provider
 * moved to a new address, the annotation virtrigaud.io/provider-moved=true
 * on the applied Provider says so.
 *
 * @throws ProviderError INVALID_SPEC naming the field, with the bound VMs.
 */
export function checkProviderChange(
  incoming: ProviderResource,
  existing: ProviderResource | undefined,
  boundVms: string[],
): void {
  if (!existing?.spec || !incoming.spec || boundVms.length === 0) return;
  const at = pathOf(Kind.PROVIDER);
  const vms = `${boundVms.slice(0, 5).join(", ")}${boundVms.length > 5 ? ` and ${boundVms.length - 5} more` : ""}`;
  if (incoming.spec.type !== existing.spec.type)
    fail(
      at("spec.type"),
      `cannot change while VirtualMachines are bound to this provider (${vms})`,
    );
  if (
    incoming.spec.endpoint !== existing.spec.endpoint &&
    incoming.metadata?.annotations[providerMovedAnnotation] !== "true"
  )
    fail(
      at("spec.endpoint"),
      `cannot change while VirtualMachines are bound to this provider (${vms}): they run at ${existing.spec.endpoint}; if this provider moved there, annotate the Provider ${providerMovedAnnotation}=true`,
    );
}

/**
 * A VirtualMachine refers into another namespace only where the resource
 * there is shared with its own (see `findNotShared`).
 *
 * @throws ProviderError INVALID_SPEC naming the reference.
 */
export function checkReferencesShared(
  vm: VirtualMachine,
  lookup: (kind: Kind, namespace: string, name: string) => AnyResource | undefined,
): void {
  const notShared = findNotShared(vm, lookup);
  if (notShared) fail(pathOf(Kind.VIRTUAL_MACHINE)(notShared.field), notShared.message);
}

function validateProvider(
  p: ProviderResource,
  at: (f: string) => string,
  options: ValidateOptions,
): void {
  const spec = p.spec;
  if (!spec) return;
  let url: URL;
  try {
    url = new URL(spec.endpoint);
  } catch {
    return fail(at("spec.endpoint"), "must be a URL such as http://127.0.0.1:9443");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    fail(at("spec.endpoint"), "must be http://host:port (plaintext) or https://host:port (TLS)");
  if (!url.hostname) fail(at("spec.endpoint"), "must name the host");
  if (!url.port || url.port === "0")
    fail(at("spec.endpoint"), "must name the port, for example http://127.0.0.1:9443");
  if (url.username || url.password)
    fail(at("spec.endpoint"), "must carry no user or password: providers read their own");
  if (url.pathname !== "/" || url.search || url.hash)
    fail(at("spec.endpoint"), "must have no path");
  const outside = options.providerEndpoints
    ? judgeEndpointHost(options.providerEndpoints, url.hostname)
    : undefined;
  if (outside) fail(at("spec.endpoint"), `is not allowed: ${outside}`);
  if (spec.insecureSkipVerify)
    fail(
      at("spec.insecure_skip_verify"),
      "is not supported: give spec.tls.caFile to trust the provider's certificate",
    );
  const tls = spec.tls;
  if (
    tls &&
    url.protocol === "http:" &&
    (tls.caFile || tls.certFile || tls.keyFile || tls.serverName)
  )
    fail(at("spec.tls"), "needs an https endpoint");
  // The files are on the manager's host: a Provider whose files cannot work never would.
  if (url.protocol === "https:")
    loadProviderTls(
      tls,
      (option) => at(`spec.tls.${option.replace(/File$/, "_file")}`),
      options.providerTlsDir,
    );
  if (spec.rateLimit && spec.rateLimit.burst && !spec.rateLimit.qps)
    fail(at("spec.rate_limit.qps"), "is required with burst");
  if (spec.healthCheck) {
    checkDuration(at("spec.health_check.interval"), spec.healthCheck.interval);
    checkDuration(at("spec.health_check.timeout"), spec.healthCheck.timeout);
  }
}

function validateClass(c: VMClass, at: (f: string) => string): void {
  const spec = c.spec;
  if (!spec) return;
  if (!spec.memory && !spec.memoryMib) fail(at("spec.memory"), "is required (or memoryMiB)");
  if (spec.memory && spec.memoryMib)
    fail(at("spec.memory_mib"), "give memory or memoryMiB, not both");
  checkQuantity(at("spec.memory"), spec.memory, {
    min: 2 ** 20,
    max: maxMemoryBytes,
    limit: "16Ti",
  });
  if (spec.diskDefaults) {
    checkQuantity(at("spec.disk_defaults.size"), spec.diskDefaults.size, {
      max: maxDiskBytes,
      limit: "64Ti",
    });
    if (spec.diskDefaults.size && spec.diskDefaults.sizeGib)
      fail(at("spec.disk_defaults.size_gib"), "give size or sizeGiB, not both");
  }
  checkDuration(at("spec.address_policy.timeout"), spec.addressPolicy?.timeout ?? "");
}

function checkChecksum(
  at: (f: string) => string,
  base: string,
  source: { url: string; checksum: string; checksumType: number },
): void {
  if (!source.url) return;
  let url: URL;
  try {
    url = new URL(source.url);
  } catch {
    return fail(at(`${base}.url`), "must be an absolute URL");
  }
  if (!["http:", "https:", "file:"].includes(url.protocol))
    fail(at(`${base}.url`), "must be an http, https or file URL");
  if (!source.checksum)
    fail(at(`${base}.checksum`), "is required with a url: providers verify downloads");
  if (!/^[0-9a-fA-F]+$/.test(source.checksum)) fail(at(`${base}.checksum`), "must be hexadecimal");
  // 0 means the default, sha256.
  if (source.checksumType === 1 || source.checksumType === 2)
    fail(at(`${base}.checksum_type`), "must be sha256 or sha512");
}

function validateImage(i: VMImage, at: (f: string) => string): void {
  const source = i.spec?.source;
  if (!source) return;
  if (!source.vsphere && !source.libvirt && !source.http && !source.registry && !source.dataVolume)
    fail(at("spec.source"), "needs a section: vsphere, libvirt or http");
  if (source.libvirt) {
    if (Boolean(source.libvirt.path) === Boolean(source.libvirt.url))
      fail(at("spec.source.libvirt"), "needs exactly one of path and url");
    if (source.libvirt.path && !source.libvirt.path.startsWith("/"))
      fail(at("spec.source.libvirt.path"), "must be an absolute path");
    checkChecksum(at, "spec.source.libvirt", source.libvirt);
  }
  if (source.http) {
    if (!source.http.url) fail(at("spec.source.http.url"), "is required");
    checkChecksum(at, "spec.source.http", source.http);
  }
  if (source.vsphere && !source.vsphere.templateName && !source.vsphere.ovaUrl)
    fail(at("spec.source.vsphere"), "needs templateName or ovaURL");
  if (source.vsphere?.ovaUrl)
    checkChecksum(at, "spec.source.vsphere", { ...source.vsphere, url: source.vsphere.ovaUrl });
  if (
    source.vsphere?.templateName &&
    !providerName.test(source.vsphere.templateName.replace(/ /g, "-"))
  )
    fail(at("spec.source.vsphere.template_name"), "has characters providers cannot take");
}

function validateNetwork(n: VMNetworkAttachment, at: (f: string) => string): void {
  const network = n.spec?.network;
  if (!network) return;
  if (!network.vsphere && !network.libvirt && !network.proxmox)
    fail(at("spec.network"), "needs a section: vsphere, libvirt or proxmox");
  if (network.libvirt && !network.libvirt.networkName && !network.libvirt.bridge?.name)
    fail(at("spec.network.libvirt"), "needs networkName or bridge.name");
  if (network.vsphere && !network.vsphere.portgroup)
    fail(at("spec.network.vsphere.portgroup"), "is required");
  const address = n.spec?.ipAllocation?.staticConfig?.address;
  if (address && !/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(address))
    fail(
      at("spec.ip_allocation.static_config.address"),
      "must be an address with a prefix, such as 10.0.0.5/24",
    );
}

function validateVm(
  vm: VirtualMachine,
  at: (f: string) => string,
  existing?: VirtualMachine,
): void {
  const spec = vm.spec;
  if (!spec) return;
  const meta = vm.metadata;
  const namespace = meta?.namespace || "default";
  if (providerVmName(namespace, meta?.name ?? "").length > 63)
    fail(
      at("metadata.name"),
      `with the namespace, the VM's name at the provider (${providerVmName(namespace, meta?.name ?? "")}) exceeds 63 characters`,
    );
  checkRefName(at("spec.provider_ref"), spec.providerRef);
  checkRefName(at("spec.class_ref"), spec.classRef);
  checkRefName(at("spec.image_ref"), spec.imageRef);
  if (spec.importedDisk && spec.imageRef)
    fail(at("spec.imported_disk"), "cannot go with imageRef: the boot disk is one or the other");
  if (spec.importedDisk && !providerName.test(spec.importedDisk.diskId))
    fail(
      at("spec.imported_disk.disk_id"),
      "must be an import id: letters, digits, '.', '_' or '-'",
    );
  const diskNames = new Set<string>();
  spec.disks.forEach((disk, i) => {
    if (!providerName.test(disk.name))
      fail(at(`spec.disks[${i}].name`), "must be letters, digits, '.', '_' or '-'");
    if (disk.name === "root") fail(at(`spec.disks[${i}].name`), '"root" is the boot disk\'s name');
    if (diskNames.has(disk.name)) fail(at(`spec.disks[${i}].name`), `${disk.name} is named twice`);
    diskNames.add(disk.name);
    if (disk.importedDisk && !providerName.test(disk.importedDisk.diskId))
      fail(
        at(`spec.disks[${i}].imported_disk.disk_id`),
        "must be an import id: letters, digits, '.', '_' or '-'",
      );
  });
  const nicNames = new Set<string>();
  spec.networks.forEach((nic, i) => {
    if (nicNames.has(nic.name)) fail(at(`spec.networks[${i}].name`), `${nic.name} is named twice`);
    nicNames.add(nic.name);
    checkRefName(at(`spec.networks[${i}].network_ref`), nic.networkRef);
    if (nic.prefix && !nic.ipAddress) fail(at(`spec.networks[${i}].prefix`), "needs ipAddress");
    if (nic.prefix > 32 && nic.ipAddress && !nic.ipAddress.includes(":"))
      fail(at(`spec.networks[${i}].prefix`), "must be at most 32 for an IPv4 address");
    if (nic.macAddress && !/^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/.test(nic.macAddress))
      fail(
        at(`spec.networks[${i}].mac_address`),
        "must be six hex pairs, such as 52:54:00:12:34:56",
      );
  });
  checkRefName(at("spec.user_data.cloud_init.secret_ref"), spec.userData?.cloudInit?.secretRef);
  checkRefName(at("spec.meta_data.cloud_init.secret_ref"), spec.metaData?.cloudInit?.secretRef);
  if (spec.userData?.ignition?.secretRef)
    fail(at("spec.user_data.ignition.secret_ref"), "is not supported: no provider takes Ignition");
  if (
    spec.resources?.memoryMib !== undefined &&
    spec.resources.memoryMib !== 0 &&
    spec.resources.memoryMib < 1
  )
    fail(at("spec.resources.memory_mib"), "must be positive");
  checkDuration(
    at("spec.lifecycle.graceful_shutdown_timeout"),
    spec.lifecycle?.gracefulShutdownTimeout ?? "",
  );
  checkDuration(at("spec.address_policy.timeout"), spec.addressPolicy?.timeout ?? "");
  const bound = existing?.status?.boundProvider;
  if (bound && spec.providerRef) {
    const ns = spec.providerRef.namespace || namespace;
    if (bound.name !== spec.providerRef.name || bound.namespace !== ns)
      fail(
        at("spec.provider_ref"),
        `cannot change once the VM is bound to provider ${bound.namespace}/${bound.name}`,
      );
  }
}

function validateSnapshot(s: VMSnapshot, at: (f: string) => string, existing?: VMSnapshot): void {
  const spec = s.spec;
  if (!spec) return;
  checkRefName(at("spec.vm_ref"), spec.vmRef);
  if (spec.snapshotConfig?.name && !providerName.test(spec.snapshotConfig.name))
    fail(at("spec.snapshot_config.name"), "must be letters, digits, '.', '_' or '-'");
  checkDuration(at("spec.retention_policy.max_age"), spec.retentionPolicy?.maxAge ?? "");
  checkDuration(at("spec.retention_policy.grace_period"), spec.retentionPolicy?.gracePeriod ?? "");
  if (existing?.spec?.vmRef && existing.spec.vmRef.name !== spec.vmRef?.name)
    fail(at("spec.vm_ref"), "cannot change");
}

function validateClone(c: VMClone, at: (f: string) => string): void {
  const spec = c.spec;
  if (!spec) return;
  const source = spec.source;
  if (source?.templateRef)
    fail(at("spec.source.template_ref"), "is not supported: clone a vmRef or a snapshotRef");
  if (source?.imageRef)
    fail(at("spec.source.image_ref"), "is not supported: clone a vmRef or a snapshotRef");
  if (source && Boolean(source.vmRef) === Boolean(source.snapshotRef))
    fail(at("spec.source"), "needs exactly one of vmRef and snapshotRef");
  const namespace = c.metadata?.namespace || "default";
  const target = spec.target;
  if (target) {
    // They become the new VirtualMachine's, which must pass as if applied.
    validateLabelsAndAnnotations(target.labels, target.annotations, (f) => at(`spec.target.${f}`));
    if (!dnsLabel.test(target.name))
      fail(at("spec.target.name"), "must be lowercase letters, digits and '-'");
    if (target.namespace && target.namespace !== namespace)
      fail(at("spec.target.namespace"), "must be the clone's own namespace");
  }
  if (spec.options?.type === CloneType.INSTANT_CLONE)
    fail(at("spec.options.type"), "InstantClone is not supported: use FullClone or LinkedClone");
}

function validateMigration(
  m: VMMigration,
  at: (f: string) => string,
  existing?: VMMigration,
): void {
  const spec = m.spec;
  if (!spec) return;
  const source = spec.source;
  checkRefName(at("spec.source.vm_ref"), source?.vmRef);
  checkRefName(at("spec.source.provider_ref"), source?.providerRef);
  checkRefName(at("spec.source.snapshot_ref"), source?.snapshotRef);
  if (source?.snapshotRef && source.powerOffBeforeMigration)
    fail(
      at("spec.source.power_off_before_migration"),
      "cannot go with snapshotRef: a snapshot is exported while the VM runs",
    );
  const target = spec.target;
  if (target) {
    // They become the new VirtualMachine's, which must pass as if applied.
    validateLabelsAndAnnotations(target.labels, target.annotations, (f) => at(`spec.target.${f}`));
    if (!dnsLabel.test(target.name))
      fail(at("spec.target.name"), "must be lowercase letters, digits and '-'");
    if (target.namespace && !dnsLabel.test(target.namespace))
      fail(at("spec.target.namespace"), "must be lowercase letters, digits and '-'");
    const namespace = target.namespace || m.metadata?.namespace || "default";
    if (providerVmName(namespace, target.name).length > 63)
      fail(
        at("spec.target.name"),
        `with the namespace, the VM's name at the provider (${providerVmName(namespace, target.name)}) exceeds 63 characters`,
      );
    checkRefName(at("spec.target.provider_ref"), target.providerRef);
    checkRefName(at("spec.target.class_ref"), target.classRef);
    checkRefName(at("spec.target.placement_ref"), target.placementRef);
    if (target.imageRef)
      fail(at("spec.target.image_ref"), "is not supported: the target's disks are the source's");
    target.disks.forEach((disk, i) => {
      if (!providerName.test(disk.name))
        fail(at(`spec.target.disks[${i}].name`), "must be letters, digits, '.', '_' or '-'");
      if (disk.importedDisk)
        fail(at(`spec.target.disks[${i}].imported_disk`), "is set by the migration");
    });
    target.networks.forEach((nic, i) =>
      checkRefName(at(`spec.target.networks[${i}].network_ref`), nic.networkRef),
    );
    const mapped = new Set<string>();
    target.networkMappings.forEach((mapping, i) => {
      if (mapped.has(mapping.sourceNetwork))
        fail(
          at(`spec.target.network_mappings[${i}].source_network`),
          `${mapping.sourceNetwork} is mapped twice`,
        );
      mapped.add(mapping.sourceNetwork);
      checkRefName(at(`spec.target.network_mappings[${i}].target_network`), mapping.targetNetwork);
    });
    if (target.networks.length && target.networkMappings.length)
      fail(
        at("spec.target.network_mappings"),
        "cannot go with networks: either the target's NICs are given, or the source's are mapped",
      );
  }
  if (spec.storage) {
    const { type, ...rest } = spec.storage;
    if (type !== "directory")
      fail(
        at("spec.storage.type"),
        "must be directory (the manager's staging directory); pvc is not supported",
      );
    for (const key of Object.keys(rest))
      fail(at(`spec.storage.${key}`), "is not a field of a directory staging");
  }
  const options = spec.options;
  if (options?.compress)
    fail(at("spec.options.compress"), "is not supported: chunks travel uncompressed");
  if (options?.verifyChecksums === false)
    fail(at("spec.options.verify_checksums"), "cannot be false: checksums are always verified");
  if (options?.validationChecks?.checkChecksum === false)
    fail(
      at("spec.options.validation_checks.check_checksum"),
      "cannot be false: checksums are always verified",
    );
  if (options?.validationChecks?.checkConnectivity)
    fail(at("spec.options.validation_checks.check_connectivity"), "is not supported yet");
  checkDuration(at("spec.options.timeout"), options?.timeout ?? "");
  checkDuration(
    at("spec.options.retry_policy.retry_delay"),
    options?.retryPolicy?.retryDelay ?? "",
  );
  if ((options?.retryPolicy?.maxRetries ?? 0) < 0)
    fail(at("spec.options.retry_policy.max_retries"), "must not be negative");
  if ((options?.retryPolicy?.backoffMultiplier ?? 0) < 0)
    fail(at("spec.options.retry_policy.backoff_multiplier"), "must not be negative");
  // What was moved, and whereto, is fixed once the migration began.
  if (existing?.status?.startTime) {
    if (existing.spec?.source?.vmRef?.name !== source?.vmRef?.name)
      fail(at("spec.source.vm_ref"), "cannot change once the migration began");
    if (!existing.spec?.storage !== !spec.storage)
      fail(at("spec.storage"), "cannot change once the migration began");
    const before = existing.spec?.target;
    if (
      before?.name !== target?.name ||
      (before?.namespace ?? "") !== (target?.namespace ?? "") ||
      before?.providerRef?.name !== target?.providerRef?.name ||
      (before?.providerRef?.namespace ?? "") !== (target?.providerRef?.namespace ?? "")
    )
      fail(
        at("spec.target"),
        "name, namespace and providerRef cannot change once the migration began",
      );
  }
}
