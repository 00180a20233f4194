import { readFileSync } from "node:fs";

/** A VM the mock starts with. */
export interface SeedVm {
  name: string;
  cpu?: number;
  memoryMib?: number;
  powerState?: "on" | "off" | "suspended";
  labels?: Record<string, string>;
  tags?: string[];
  disks?: Array<{ name: string; sizeGib: number }>;
  networks?: string[];
}

/** What the mock starts with: templates to create VMs from, and VMs. */
export interface SeedInventory {
  /** Template names Create accepts in image.template. Default: ["debian-12", "ubuntu-24.04"]. */
  templates?: string[];
  vms?: SeedVm[];
}

/**
 * Reads a seed inventory from a JSON file.
 *
 * @throws Error when the file cannot be read or is not an inventory.
 */
export function readSeedInventory(file: string): SeedInventory {
  const data = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new Error(`${file}: an inventory is an object with "templates" and "vms"`);
  }
  const inventory = data as SeedInventory;
  if (
    inventory.templates !== undefined &&
    !inventory.templates.every((t) => typeof t === "string")
  ) {
    throw new Error(`${file}: "templates" must be a list of names`);
  }
  for (const [i, vm] of (inventory.vms ?? []).entries()) {
    if (typeof vm.name !== "string" || !vm.name)
      throw new Error(`${file}: vms[${i}].name is required`);
    if (vm.powerState !== undefined && !["on", "off", "suspended"].includes(vm.powerState)) {
      throw new Error(`${file}: vms[${i}].powerState must be on, off or suspended`);
    }
  }
  return inventory;
}
