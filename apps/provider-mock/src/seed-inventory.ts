import { readJsonFile } from "./read-json-file.js";
import { create } from "@bufbuild/protobuf";
import { CreateRequestSchema, findViolation } from "@virtrigaud/contracts";

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
 * Reads a seed inventory from a JSON file. Each VM must meet the contract's
 * rules for the CreateRequest it stands for, and names must be unique.
 *
 * @throws Error naming the file and the offending entry.
 */
export function readSeedInventory(file: string): SeedInventory {
  const data = readJsonFile(file);
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new Error(`${file}: an inventory is an object with "templates" and "vms"`);
  }
  const inventory = data as SeedInventory;
  if (
    inventory.templates !== undefined &&
    !inventory.templates.every((t) => typeof t === "string" && t)
  ) {
    throw new Error(`${file}: "templates" must be a list of names`);
  }
  const names = new Set<string>();
  for (const [i, vm] of (inventory.vms ?? []).entries()) {
    if (vm.powerState !== undefined && !["on", "off", "suspended"].includes(vm.powerState)) {
      throw new Error(`${file}: vms[${i}].powerState must be on, off or suspended`);
    }
    const request = create(CreateRequestSchema, {
      name: String(vm.name ?? ""),
      class: { cpu: vm.cpu ?? 1, memoryMib: vm.memoryMib ?? 1024 },
      disks: (vm.disks ?? []).filter((d) => d.name !== "root"),
      networks: (vm.networks ?? []).map((network) => ({ network })),
      labels: vm.labels ?? {},
      tags: vm.tags ?? [],
    });
    const violation = findViolation(CreateRequestSchema, request);
    if (violation) throw new Error(`${file}: vms[${i}]: ${violation.field}: ${violation.message}`);
    if (names.has(vm.name))
      throw new Error(`${file}: vms[${i}]: the name ${vm.name} is used twice`);
    names.add(vm.name);
  }
  return inventory;
}
