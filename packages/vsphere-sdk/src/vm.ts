import type { CallOptions, VimClient } from "./client/vim-client.js";
import type {
  ManagedObjectReference,
  VirtualMachineCloneSpec,
  VirtualMachineConfigSpec,
} from "./gen/vim-types.js";

// Typed wrappers of the vim25 methods the VirtualMachine life cycle uses.
// Methods whose name ends in _Task start a task and return its reference;
// wait for it with waitForTask. Each throws the typed VimFault of a SOAP
// fault (InvalidPowerStateError, DuplicateNameError, ...).

/** Folder.CreateVM_Task: a new VM from a config spec, in `pool` (and on `host`, if given). */
export function createVM(
  client: VimClient,
  folder: ManagedObjectReference,
  config: VirtualMachineConfigSpec,
  pool: ManagedObjectReference,
  host?: ManagedObjectReference,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("CreateVM_Task", folder, { config, pool, host }, options);
}

/** VirtualMachine.CloneVM_Task: a copy of `vm` (or a template) named `name` in `folder`. */
export function cloneVM(
  client: VimClient,
  vm: ManagedObjectReference,
  folder: ManagedObjectReference,
  name: string,
  spec: VirtualMachineCloneSpec,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("CloneVM_Task", vm, { folder, name, spec }, options);
}

/** VirtualMachine.ReconfigVM_Task: applies a config spec (CPU, memory, devices, extraConfig). */
export function reconfigureVM(
  client: VimClient,
  vm: ManagedObjectReference,
  spec: VirtualMachineConfigSpec,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("ReconfigVM_Task", vm, { spec }, options);
}

/** VirtualMachine.PowerOnVM_Task: powers on, or resumes a suspended VM. */
export function powerOnVM(
  client: VimClient,
  vm: ManagedObjectReference,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("PowerOnVM_Task", vm, {}, options);
}

/** VirtualMachine.PowerOffVM_Task: powers off at once, without asking the guest. */
export function powerOffVM(
  client: VimClient,
  vm: ManagedObjectReference,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("PowerOffVM_Task", vm, {}, options);
}

/** VirtualMachine.SuspendVM_Task. */
export function suspendVM(
  client: VimClient,
  vm: ManagedObjectReference,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("SuspendVM_Task", vm, {}, options);
}

/** VirtualMachine.ResetVM_Task: a hard reset. */
export function resetVM(
  client: VimClient,
  vm: ManagedObjectReference,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("ResetVM_Task", vm, {}, options);
}

/**
 * VirtualMachine.ShutdownGuest: asks the guest (through VMware Tools) to shut
 * down, and returns at once; watch runtime.powerState to see it happen.
 *
 * @throws ToolsUnavailableError when the guest's tools are not running.
 */
export async function shutdownGuest(
  client: VimClient,
  vm: ManagedObjectReference,
  options?: CallOptions,
): Promise<void> {
  await client.call("ShutdownGuest", vm, {}, options);
}

/**
 * VirtualMachine.RebootGuest: asks the guest to reboot, and returns at once.
 *
 * @throws ToolsUnavailableError when the guest's tools are not running.
 */
export async function rebootGuest(
  client: VimClient,
  vm: ManagedObjectReference,
  options?: CallOptions,
): Promise<void> {
  await client.call("RebootGuest", vm, {}, options);
}

/** ManagedEntity.Destroy_Task: deletes a VM and its files (it must be powered off). */
export function destroyEntity(
  client: VimClient,
  entity: ManagedObjectReference,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("Destroy_Task", entity, {}, options);
}

/** What a snapshot holds. */
export interface SnapshotOptions {
  name: string;
  description?: string;
  /** Include the memory of a running VM, so reverting resumes it. */
  memory: boolean;
  /** Quiesce the guest's file systems first (needs VMware Tools). */
  quiesce: boolean;
}

/** VirtualMachine.CreateSnapshot_Task; the task's result is the snapshot's reference. */
export function createSnapshot(
  client: VimClient,
  vm: ManagedObjectReference,
  snapshot: SnapshotOptions,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call(
    "CreateSnapshot_Task",
    vm,
    {
      name: snapshot.name,
      description: snapshot.description,
      memory: snapshot.memory,
      quiesce: snapshot.quiesce,
    },
    options,
  );
}

/** VirtualMachineSnapshot.RemoveSnapshot_Task; children stay unless `removeChildren`. */
export function removeSnapshot(
  client: VimClient,
  snapshot: ManagedObjectReference,
  removeChildren: boolean,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("RemoveSnapshot_Task", snapshot, { removeChildren }, options);
}

/** VirtualMachineSnapshot.RevertToSnapshot_Task. */
export function revertToSnapshot(
  client: VimClient,
  snapshot: ManagedObjectReference,
  options?: CallOptions,
): Promise<ManagedObjectReference> {
  return client.call("RevertToSnapshot_Task", snapshot, {}, options);
}

/** VirtualMachine.MarkAsTemplate: the VM must be powered off. */
export async function markAsTemplate(
  client: VimClient,
  vm: ManagedObjectReference,
  options?: CallOptions,
): Promise<void> {
  await client.call("MarkAsTemplate", vm, {}, options);
}

/** SearchIndex.FindChild: the child of `entity` named `name`, or undefined. */
export async function findChild(
  client: VimClient,
  entity: ManagedObjectReference,
  name: string,
  options?: CallOptions,
): Promise<ManagedObjectReference | undefined> {
  const { searchIndex } = await client.serviceContent(options);
  if (!searchIndex) throw new Error("the server has no search index");
  return client.call("FindChild", searchIndex, { entity, name }, options);
}

/**
 * SearchIndex.FindByUuid for a VM by its instance UUID (or its BIOS UUID with
 * `instanceUuid: false`), in `datacenter` or everywhere; undefined when none.
 */
export async function findVMByUuid(
  client: VimClient,
  uuid: string,
  options: CallOptions & { datacenter?: ManagedObjectReference; instanceUuid?: boolean } = {},
): Promise<ManagedObjectReference | undefined> {
  const { searchIndex } = await client.serviceContent(options);
  if (!searchIndex) throw new Error("the server has no search index");
  return client.call(
    "FindByUuid",
    searchIndex,
    {
      datacenter: options.datacenter,
      uuid,
      vmSearch: true,
      instanceUuid: options.instanceUuid ?? true,
    },
    { signal: options.signal },
  );
}
