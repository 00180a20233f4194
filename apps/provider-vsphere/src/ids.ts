import type { TaskRef } from "@virtrigaud/contracts";
import type { ManagedObjectReference } from "@virtrigaud/vsphere-sdk";

const idFormat = /^[\x21-\x7e]{1,256}$/;

/** True when `text` can be a VM or snapshot id: 1 to 256 printable ASCII characters, no space. */
export function isIdText(text: string): boolean {
  return idFormat.test(text);
}

/** The prefix of the provider's own task ids ("vrtg-<uuid>"). */
export const providerTaskPrefix = "vrtg";
const providerTaskId = new RegExp(`^${providerTaskPrefix}-[0-9a-f-]{36}$`);
const vsphereTaskId = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Who answers GetTask for a task id: the provider's task tracker for its own
 * tasks ("vrtg-<uuid>"), vCenter for a vSphere task's moref ("task-123"), or
 * no one for anything else. The provider's own ids are checked first: they
 * have the shape of a moref too.
 */
export function taskIdKind(id: string): "provider" | "vsphere" | undefined {
  if (providerTaskId.test(id)) return "provider";
  if (vsphereTaskId.test(id)) return "vsphere";
  return undefined;
}

/** The task reference of a vSphere task: its moref's value. */
export function vsphereTaskRef(task: ManagedObjectReference): TaskRef {
  return { id: task.value } as TaskRef;
}
