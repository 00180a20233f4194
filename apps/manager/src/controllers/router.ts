import {
  Kind,
  type VMClone,
  type VMMigration,
  type VMSnapshot,
  type VirtualMachine,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import type { AnyResource } from "../manifest/kinds.js";
import type { Change } from "../store/resource-store.js";
import { type ControllerContext, keyOf } from "./context.js";
import { providersNaming, refKey, vmReferences } from "./references.js";

/** What, about a resource, asks its own controller to run: not its status. */
function trigger(message: AnyResource): string {
  const meta = message.metadata;
  if (!meta) return "";
  let annotations = "";
  for (const k in meta.annotations) annotations += `${k}=${meta.annotations[k]};`;
  return `${meta.generation}|${meta.deletionTimestamp ? 1 : 0}|${meta.finalizers.join(",")}|${annotations}`;
}

/** Whether the VM "namespace/name" is a migration's source or target. */
function migrationConcerns(m: VMMigration, vmKey: string): boolean {
  const ns = m.metadata?.namespace || "default";
  const target = m.spec?.target;
  return (
    vmKey === `${ns}/${m.spec?.source?.vmRef?.name}` ||
    vmKey === `${target?.namespace || ns}/${target?.name}`
  );
}

/**
 * Reference keys ("Kind/namespace/name") a VM depends on: what it refers to
 * but a Provider of its own namespace (whose connection wakes it). A
 * Provider of another namespace is one: whether it is still shared is read
 * from its annotations.
 */
function vmDependencies(vm: VirtualMachine): string[] {
  const own = vm.metadata?.namespace || "default";
  return vmReferences(vm)
    .filter((r) => r.kind !== Kind.PROVIDER || r.namespace !== own)
    .map(refKey);
}

/**
 * Sends each stored change to the controllers it concerns: the resource's
 * own controller when its spec, deletion, finalizers or annotations changed
 * (its own status writes do not wake it), and the controllers of resources
 * that depend on it, through reference indexes.
 */
export function createRouter(ctx: ControllerContext) {
  const triggers = new Map<string, string>();
  /** "Kind/ns/name" of a dependency → VM keys that depend on it. */
  const dependents = new Map<string, Set<string>>();
  const vmDeps = new Map<string, string[]>();
  /** VM key → snapshot and clone keys that refer to it. */
  const vmUsers = new Map<string, Set<string>>();
  const userDeps = new Map<string, string[]>();

  const index = (map: Map<string, Set<string>>, deps: string[], key: string, add: boolean) => {
    for (const dep of deps) {
      let set = map.get(dep);
      if (!set && add) map.set(dep, (set = new Set()));
      if (add) set?.add(key);
      else {
        set?.delete(key);
        if (set?.size === 0) map.delete(dep);
      }
    }
  };

  const usage = (dep: string) => {
    const kind = Number(dep.slice(0, dep.indexOf("/"))) as Kind;
    if (kind === Kind.VM_CLASS || kind === Kind.VM_NETWORK_ATTACHMENT)
      ctx.queues.usage.addAfter(dep, 1000);
    if (kind === Kind.VM_IMAGE) ctx.queues.image.addAfter(dep.slice(dep.indexOf("/") + 1), 1000);
  };

  return function route(change: Change): void {
    const { kind, message } = change;
    const key = keyOf(message);
    const fullKey = `${kind}/${key}`;
    const deleted = change.type === WatchEventType.DELETED;
    const sig = deleted ? "" : trigger(message);
    const own = deleted || triggers.get(fullKey) !== sig;
    if (deleted) triggers.delete(fullKey);
    else triggers.set(fullKey, sig);

    switch (kind) {
      case Kind.PROVIDER:
        if (own) ctx.queues.provider.add(key);
        if (own) {
          // VMs of other namespaces that refer to it: shared, or no longer.
          for (const vm of dependents.get(fullKey) ?? []) ctx.queues.vm.add(vm);
          // Classes and networks report which providers can use them.
          for (const k of [Kind.VM_CLASS, Kind.VM_NETWORK_ATTACHMENT])
            for (const m of ctx.store.list(k, message.metadata?.namespace || "default"))
              ctx.queues.usage.addAfter(`${k}/${keyOf(m)}`, 1000);
          for (const m of ctx.store.list(Kind.VM_IMAGE, message.metadata?.namespace || "default"))
            ctx.queues.image.add(keyOf(m));
        }
        return;
      case Kind.VM_CLASS:
      case Kind.VM_NETWORK_ATTACHMENT:
      case Kind.VM_IMAGE: {
        if (own) {
          if (kind === Kind.VM_IMAGE) ctx.queues.image.add(key);
          else ctx.queues.usage.add(fullKey);
        }
        // VMs waiting for it (or whose class changed) run again; an image's
        // status changes only when its availability does.
        if (own || kind === Kind.VM_IMAGE)
          for (const vm of dependents.get(fullKey) ?? []) ctx.queues.vm.add(vm);
        return;
      }
      case Kind.SECRET:
        // VMs waiting for their cloud-init's Secret run again.
        for (const vm of dependents.get(fullKey) ?? []) ctx.queues.vm.add(vm);
        // Providers whose credentials it holds send them again.
        for (const p of providersNaming(ctx.store, key)) ctx.queues.provider.add(p);
        return;
      case Kind.VIRTUAL_MACHINE: {
        if (own) ctx.queues.vm.add(key);
        // Migrations from it or to it (the target may be in another namespace).
        for (const m of ctx.store.list(Kind.VM_MIGRATION))
          if (migrationConcerns(m as VMMigration, key)) ctx.queues.migration.add(keyOf(m));
        const before = vmDeps.get(key) ?? [];
        const after = deleted ? [] : vmDependencies(message as VirtualMachine);
        if (before.join() !== after.join()) {
          index(dependents, before, key, false);
          index(dependents, after, key, true);
          if (after.length) vmDeps.set(key, after);
          else vmDeps.delete(key);
          for (const dep of new Set([...before, ...after])) usage(dep);
        }
        for (const user of vmUsers.get(key) ?? []) {
          if (user.startsWith(`${Kind.VM_SNAPSHOT}/`))
            ctx.queues.snapshot.add(user.slice(user.indexOf("/") + 1));
          else ctx.queues.clone.add(user.slice(user.indexOf("/") + 1));
        }
        return;
      }
      case Kind.VM_MIGRATION:
        if (own) ctx.queues.migration.add(key);
        return;
      case Kind.VM_SNAPSHOT:
      case Kind.VM_CLONE: {
        if (own) (kind === Kind.VM_SNAPSHOT ? ctx.queues.snapshot : ctx.queues.clone).add(key);
        const ns = message.metadata?.namespace || "default";
        const before = userDeps.get(fullKey) ?? [];
        let after: string[] = [];
        if (!deleted && kind === Kind.VM_SNAPSHOT)
          after = [`${ns}/${(message as VMSnapshot).spec?.vmRef?.name}`];
        if (!deleted && kind === Kind.VM_CLONE) {
          const source = (message as VMClone).spec?.source;
          const target = (message as VMClone).spec?.target?.name;
          after = [
            source?.vmRef ? `${ns}/${source.vmRef.name}` : "",
            target ? `${ns}/${target}` : "",
          ].filter(Boolean);
        }
        if (before.join() !== after.join()) {
          index(vmUsers, before, fullKey, false);
          index(vmUsers, after, fullKey, true);
          userDeps.set(fullKey, after);
        }
        if (deleted) userDeps.delete(fullKey);
        // VMs reverting to this snapshot, and clones from it.
        for (const vm of dependents.get(fullKey) ?? []) ctx.queues.vm.add(vm);
        if (kind === Kind.VM_SNAPSHOT)
          for (const m of ctx.store.list(Kind.VM_CLONE, ns))
            if ((m as VMClone).spec?.source?.snapshotRef?.name === message.metadata?.name)
              ctx.queues.clone.add(keyOf(m));
        return;
      }
    }
  };
}
