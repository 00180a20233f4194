/** The generated project's src/backend.ts: the in-memory backend a team replaces. */
export const backendSource = `import { randomUUID } from "node:crypto";

/** A VM as the backend knows it. */
export interface BackendVm {
  id: string;
  name: string;
  cpu: number;
  memoryMib: number;
  disks: Array<{ name: string; sizeGib: number }>;
  networks: string[];
  powerState: "on" | "off";
  labels: Record<string, string>;
}

/** What a VM is made from. */
export type BackendVmSpec = Omit<BackendVm, "id" | "powerState">;

/**
 * The system this provider drives. The in-memory implementation below is a
 * stand-in that makes the project work end to end: replace it with calls to
 * your hypervisor's API, keeping this interface, and the provider in
 * provider.ts keeps working.
 */
export interface Backend {
  /** Succeeds when the backend is reachable and the credentials work. */
  ping(signal: AbortSignal): Promise<void>;
  create(spec: BackendVmSpec, signal: AbortSignal): Promise<BackendVm>;
  find(id: string, signal: AbortSignal): Promise<BackendVm | undefined>;
  findByName(name: string, signal: AbortSignal): Promise<BackendVm | undefined>;
  /** Every VM, ordered by name. */
  list(signal: AbortSignal): Promise<BackendVm[]>;
  /** Removes a VM; removing one that is gone is not an error. */
  remove(id: string, signal: AbortSignal): Promise<void>;
  update(id: string, change: Partial<Pick<BackendVm, "cpu" | "memoryMib" | "disks" | "powerState">>, signal: AbortSignal): Promise<BackendVm>;
}

/** A backend that keeps VMs in memory, for development and tests. */
export function createInMemoryBackend(): Backend {
  const vms = new Map<string, BackendVm>();
  const copy = (vm: BackendVm): BackendVm => ({ ...vm, disks: vm.disks.map((d) => ({ ...d })), networks: [...vm.networks] });
  return {
    ping: () => Promise.resolve(),
    create(spec) {
      const vm: BackendVm = { ...spec, id: \`vm-\${randomUUID()}\`, powerState: "off" };
      vms.set(vm.id, vm);
      return Promise.resolve(copy(vm));
    },
    find: (id) => Promise.resolve(vms.has(id) ? copy(vms.get(id) as BackendVm) : undefined),
    findByName(name) {
      const vm = [...vms.values()].find((v) => v.name === name);
      return Promise.resolve(vm && copy(vm));
    },
    list: () => Promise.resolve([...vms.values()].map(copy).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))),
    remove(id) {
      vms.delete(id);
      return Promise.resolve();
    },
    update(id, change) {
      const vm = vms.get(id);
      if (!vm) return Promise.reject(new Error(\`no VM \${id}\`));
      Object.assign(vm, change);
      return Promise.resolve(copy(vm));
    },
  };
}
`;
