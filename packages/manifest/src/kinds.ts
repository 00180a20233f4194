import { type DescMessage, type MessageInitShape, create } from "@bufbuild/protobuf";
import {
  type ClusterRole,
  ClusterRoleSchema,
  type ClusterRoleBinding,
  ClusterRoleBindingSchema,
  Kind,
  type Provider as ProviderResource,
  ProviderSchema,
  type Resource,
  ResourceSchema,
  type Role,
  RoleSchema,
  type RoleBinding,
  RoleBindingSchema,
  type Secret,
  SecretSchema,
  type VMClass,
  VMClassSchema,
  type VMClone,
  VMCloneSchema,
  type VMImage,
  VMImageSchema,
  type VMMigration,
  VMMigrationSchema,
  type VMNetworkAttachment,
  VMNetworkAttachmentSchema,
  type VMSnapshot,
  VMSnapshotSchema,
  type VirtualMachine,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";

/** The API group and version of every manifest. */
export const apiVersion = "infra.virtrigaud.io/v1beta1";

/** A resource of any kind, as the generated message. */
export type AnyResource =
  | ProviderResource
  | VMClass
  | VMImage
  | VMNetworkAttachment
  | VirtualMachine
  | VMSnapshot
  | VMClone
  | VMMigration
  | Role
  | RoleBinding
  | ClusterRole
  | ClusterRoleBinding
  | Secret;

/** The API group and version of Role, RoleBinding, ClusterRole and ClusterRoleBinding, as Kubernetes writes them. */
const rbacApiVersion = "rbac.authorization.k8s.io/v1";

/**
 * Where cluster-scoped kinds (ClusterRole, ClusterRoleBinding) sit in the
 * store: one fixed namespace, whatever namespace a request names, so the
 * store's (kind, namespace, name) key holds them unchanged.
 */
export const clusterNamespace = "cluster";

/** The member of the Resource oneof that holds a kind. */
type ResourceCase = NonNullable<Resource["kind"]["case"]>;

/** What the manager knows about one kind. */
export interface KindInfo {
  kind: Kind;
  /** As written in manifests: "VirtualMachine". */
  name: string;
  /** Lowercase plural, as vrtg accepts it: "virtualmachines". */
  plural: string;
  /** Other names vrtg accepts: "vm", "vms". */
  aliases: readonly string[];
  schema: DescMessage;
  oneofCase: ResourceCase;
  /** Its manifests' apiVersion, when not `apiVersion` (the RBAC kinds take Kubernetes'). */
  apiVersion?: string;
  /** Fields of the spec its manifests write at the top level, as Kubernetes' RBAC kinds do. */
  topLevelSpec?: readonly string[];
  /** One per name in the whole manager, not per namespace (see clusterNamespace). */
  clusterScoped?: boolean;
}

/** Every kind, in the order they depend on one another. */
export const kinds: readonly KindInfo[] = [
  {
    kind: Kind.SECRET,
    name: "Secret",
    plural: "secrets",
    aliases: ["secret"],
    schema: SecretSchema,
    oneofCase: "secret",
  },
  {
    kind: Kind.PROVIDER,
    name: "Provider",
    plural: "providers",
    aliases: ["provider", "prov"],
    schema: ProviderSchema,
    oneofCase: "provider",
  },
  {
    kind: Kind.VM_CLASS,
    name: "VMClass",
    plural: "vmclasses",
    aliases: ["vmclass", "class", "classes"],
    schema: VMClassSchema,
    oneofCase: "vmClass",
  },
  {
    kind: Kind.VM_IMAGE,
    name: "VMImage",
    plural: "vmimages",
    aliases: ["vmimage", "vmimg", "image", "images"],
    schema: VMImageSchema,
    oneofCase: "vmImage",
  },
  {
    kind: Kind.VM_NETWORK_ATTACHMENT,
    name: "VMNetworkAttachment",
    plural: "vmnetworkattachments",
    aliases: ["vmnetworkattachment", "vmnet", "network", "networks"],
    schema: VMNetworkAttachmentSchema,
    oneofCase: "vmNetworkAttachment",
  },
  {
    kind: Kind.VIRTUAL_MACHINE,
    name: "VirtualMachine",
    plural: "virtualmachines",
    aliases: ["virtualmachine", "vm", "vms"],
    schema: VirtualMachineSchema,
    oneofCase: "virtualMachine",
  },
  {
    kind: Kind.VM_SNAPSHOT,
    name: "VMSnapshot",
    plural: "vmsnapshots",
    aliases: ["vmsnapshot", "vmsnap", "snapshot", "snapshots", "snap"],
    schema: VMSnapshotSchema,
    oneofCase: "vmSnapshot",
  },
  {
    kind: Kind.VM_CLONE,
    name: "VMClone",
    plural: "vmclones",
    aliases: ["vmclone", "clone", "clones"],
    schema: VMCloneSchema,
    oneofCase: "vmClone",
  },
  {
    kind: Kind.VM_MIGRATION,
    name: "VMMigration",
    plural: "vmmigrations",
    aliases: ["vmmigration", "vmmig", "migration", "migrations"],
    schema: VMMigrationSchema,
    oneofCase: "vmMigration",
  },
  {
    kind: Kind.ROLE,
    name: "Role",
    plural: "roles",
    aliases: ["role"],
    schema: RoleSchema,
    oneofCase: "role",
    apiVersion: rbacApiVersion,
    topLevelSpec: ["rules"],
  },
  {
    kind: Kind.ROLE_BINDING,
    name: "RoleBinding",
    plural: "rolebindings",
    aliases: ["rolebinding"],
    schema: RoleBindingSchema,
    oneofCase: "roleBinding",
    apiVersion: rbacApiVersion,
    topLevelSpec: ["subjects", "roleRef"],
  },
  {
    kind: Kind.CLUSTER_ROLE,
    name: "ClusterRole",
    plural: "clusterroles",
    aliases: ["clusterrole"],
    schema: ClusterRoleSchema,
    oneofCase: "clusterRole",
    apiVersion: rbacApiVersion,
    topLevelSpec: ["rules"],
    clusterScoped: true,
  },
  {
    kind: Kind.CLUSTER_ROLE_BINDING,
    name: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    aliases: ["clusterrolebinding"],
    schema: ClusterRoleBindingSchema,
    oneofCase: "clusterRoleBinding",
    apiVersion: rbacApiVersion,
    topLevelSpec: ["subjects", "roleRef"],
    clusterScoped: true,
  },
];

const byKind = new Map(kinds.map((k) => [k.kind, k]));
const byName = new Map<string, KindInfo>();
for (const k of kinds) {
  byName.set(k.name, k);
  for (const alias of [k.name.toLowerCase(), k.plural, ...k.aliases]) byName.set(alias, k);
}

/**
 * The kind's description.
 *
 * @throws Error for KIND_UNSPECIFIED or a value no kind has.
 */
export function kindInfo(kind: Kind): KindInfo {
  const info = byKind.get(kind);
  if (!info) throw new Error(`unknown kind ${kind}`);
  return info;
}

/** The kind a manifest's `kind` or a vrtg argument names ("VirtualMachine", "vm", "vms"), if any. */
export function findKind(name: string): KindInfo | undefined {
  return byName.get(name) ?? byName.get(name.toLowerCase());
}

/** Wraps a resource message in the Resource oneof. */
export function toResource(kind: Kind, message: AnyResource): Resource {
  // The case and the message's type go together, as kindInfo pairs them.
  const init = { kind: { case: kindInfo(kind).oneofCase, value: message } };
  return create(ResourceSchema, init as MessageInitShape<typeof ResourceSchema>);
}

/** The kind and message inside a Resource, or undefined when it is empty. */
export function fromResource(
  resource: Resource | undefined,
): { info: KindInfo; message: AnyResource } | undefined {
  const inner = resource?.kind;
  if (!inner?.case) return undefined;
  const info = kinds.find((k) => k.oneofCase === inner.case);
  return info && { info, message: inner.value };
}
