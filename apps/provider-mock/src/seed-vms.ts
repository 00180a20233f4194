import { DiskType, Firmware, NetworkType, NicModel, PowerState } from "@virtrigaud/contracts";
import { imageSizeGib } from "./images.js";
import type { MockContext } from "./mock-context.js";
import type { SeedInventory } from "./seed-inventory.js";

/** Adds the seed inventory's VMs that the store (a state file) does not hold yet. */
export function seedVms(ctx: MockContext, inventory: SeedInventory | undefined): void {
  const { store } = ctx;
  for (const seed of inventory?.vms ?? []) {
    if (store.byName(seed.name)) continue;
    const power = { on: PowerState.ON, off: PowerState.OFF, suspended: PowerState.SUSPENDED }[
      seed.powerState ?? "off"
    ];
    store.add({
      id: store.newId("vm"),
      name: seed.name,
      phase: "ready",
      taskId: "",
      powerState: power,
      firmware: Firmware.BIOS,
      config: {
        cpu: seed.cpu ?? 1,
        memoryMib: seed.memoryMib ?? 1024,
        disks: (seed.disks ?? [{ name: "root", sizeGib: imageSizeGib }]).map((d) => ({
          ...d,
          type: DiskType.THIN,
        })),
      },
      pending: undefined,
      nics: (seed.networks ?? ["default"]).map((network) => ({
        network,
        type: NetworkType.VIRTUAL,
        model: NicModel.VIRTIO,
        macAddress: ctx.newMac(),
        staticAddress: "",
      })),
      guestAddress: ctx.newGuestAddress(),
      tags: seed.tags ?? [],
      labels: seed.labels ?? {},
      image: "",
      createTime: ctx.clock.now(),
      snapshots: [],
      currentSnapshotId: "",
      linkedTo: undefined,
    });
  }
}
