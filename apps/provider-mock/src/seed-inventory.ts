import { readJsonFile } from "./read-json-file.js";
import { create } from "@bufbuild/protobuf";
import { CreateRequestSchema } from "@virtrigaud/contracts";
import { findViolation } from "@virtrigaud/contracts/wire";

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
 * Checks an inventory: each VM must meet the contract's rules for the
 * CreateRequest it stands for (its root disk included), and names must be
 * unique.
 *
 * @throws Error naming the offending entry.
 */
export function checkSeedInventory(inventory: SeedInventory): SeedInventory {
  if (typeof inventory !== "object" || inventory === null || Array.isArray(inventory)) {
    throw new Error('an inventory is an object with "templates" and "vms"');
  }
  if (
    inventory.templates !== undefined &&
    !inventory.templates.every((t) => typeof t === "string" && t)
  ) {
    throw new Error('"templates" must be a list of names');
  }
  const names = new Set<string>();
  for (const [i, vm] of (inventory.vms ?? []).entries()) {
    if (vm.powerState !== undefined && !["on", "off", "suspended"].includes(vm.powerState)) {
      throw new Error(`vms[${i}].powerState must be on, off or suspended`);
    }
    const disks = vm.disks ?? [];
    const request = create(CreateRequestSchema, {
      name: String(vm.name ?? ""),
      class: { cpu: vm.cpu ?? 1, memoryMib: vm.memoryMib ?? 1024 },
      rootDiskSizeGib: disks.find((d) => d.name === "root")?.sizeGib ?? 0,
      disks: disks.filter((d) => d.name !== "root"),
      networks: (vm.networks ?? []).map((network) => ({ network })),
      labels: vm.labels ?? {},
      tags: vm.tags ?? [],
    });
    const violation = findViolation(CreateRequestSchema, request);
    if (violation) throw new Error(`vms[${i}]: ${violation.field}: ${violation.message}`);
    if (disks.some((d) => d.name === "root" && !(d.sizeGib >= 1))) {
      throw new Error(`vms[${i}]: the root disk needs a size of at least 1 GiB`);
    }
    if (names.has(vm.name)) throw new Error(`vms[${i}]: the name ${vm.name} is used twice`);
    names.add(vm.name);
  }
  return inventory;
}

/**
 * Reads a seed inventory from a JSON file and checks it.
 *
 * @throws Error naming the file and the offending entry.
 */
export function readSeedInventory(file: string): SeedInventory {
  const data = readJsonFile(file);
  try {
    return checkSeedInventory(data as SeedInventory);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}
