import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Logger } from "@virtrigaud/contracts";
import type { VmRecord } from "./vm-record.js";

/** A prepared image: its name and where it came from. */
export interface ImageRecord {
  name: string;
  source: string;
}

/** Everything the mock knows, as written to the state file. */
interface StoredState {
  version: 1;
  nextId: number;
  vms: VmRecord[];
  images: ImageRecord[];
}

/**
 * The mock's inventory: VMs by id and name, and images. With a state file,
 * every change is written there (coalesced, atomically by rename), and the
 * inventory is read back at start-up, so it survives a restart.
 */
export class MockStore {
  readonly vms = new Map<string, VmRecord>();
  readonly images = new Map<string, ImageRecord>();
  #byName = new Map<string, VmRecord>();
  #nextId = 1;
  #saveScheduled = false;

  constructor(
    private readonly stateFile: string | undefined,
    private readonly logger: Logger,
  ) {
    if (stateFile) this.#load(stateFile);
  }

  /** A new identifier such as "vm-000042". Identifiers are never reused. */
  newId(prefix: string): string {
    return `${prefix}-${String(this.#nextId++).padStart(6, "0")}`;
  }

  byName(name: string): VmRecord | undefined {
    return this.#byName.get(name);
  }

  add(vm: VmRecord): void {
    this.vms.set(vm.id, vm);
    this.#byName.set(vm.name, vm);
    this.changed();
  }

  remove(vm: VmRecord): void {
    this.vms.delete(vm.id);
    if (this.#byName.get(vm.name) === vm) this.#byName.delete(vm.name);
    this.changed();
  }

  /** VMs ordered by name. */
  sorted(): VmRecord[] {
    return [...this.vms.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Records that the inventory changed; the state file is written once the current work yields. */
  changed(): void {
    if (!this.stateFile || this.#saveScheduled) return;
    this.#saveScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes the state file now, if there is one. */
  flush(): void {
    this.#saveScheduled = false;
    if (!this.stateFile) return;
    const state: StoredState = {
      version: 1,
      nextId: this.#nextId,
      vms: [...this.vms.values()],
      images: [...this.images.values()],
    };
    const temporary = `${this.stateFile}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify(state));
      renameSync(temporary, this.stateFile);
    } catch (err) {
      this.logger.error({ err, stateFile: this.stateFile }, "could not write the state file");
    }
  }

  #load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    const state = JSON.parse(text) as StoredState;
    if (state.version !== 1)
      throw new Error(`state file ${file} has unknown version ${String(state.version)}`);
    this.#nextId = state.nextId;
    for (const image of state.images) this.images.set(image.name, image);
    for (const vm of state.vms) {
      // Tasks do not survive a restart: finish what they were doing.
      if (vm.phase === "deleting") continue;
      vm.phase = "ready";
      vm.taskId = "";
      this.vms.set(vm.id, vm);
      this.#byName.set(vm.name, vm);
    }
    this.logger.info(
      { stateFile: file, vms: this.vms.size, images: this.images.size },
      "state loaded",
    );
  }
}
