import { propertiesOf } from "@virtrigaud/vsphere-sdk";
import { listInventory } from "./inventory-view.js";
import { extraConfigOf, extraKeys } from "./vm-properties.js";
import type { VsphereContext } from "./vsphere-context.js";

/** What a linked clone records of its base (extraKeys.linkedTo): "<source vm id>/<snapshot name>". */
export function linkedToValue(sourceVmId: string, snapshotName: string): string {
  return `${sourceVmId}/${snapshotName}`;
}

/** The source VM id and snapshot name a linked clone records; VM ids have no "/", names may. */
export function parseLinkedTo(value: string): { sourceVmId: string; snapshotName: string } {
  const slash = value.indexOf("/");
  return { sourceVmId: value.slice(0, slash), snapshotName: value.slice(slash + 1) };
}

/**
 * Names of the provider's linked clones of `vmId` (on snapshot `snapshotName`,
 * if given), from one retrieval of the inventory.
 */
export async function linkedClonesOf(
  ctx: VsphereContext,
  vmId: string,
  snapshotName: string | undefined,
  signal: AbortSignal,
): Promise<string[]> {
  const objects = await listInventory(ctx, signal);
  const out: string[] = [];
  for (const o of objects) {
    if (o.obj.type !== "VirtualMachine") continue;
    const values = propertiesOf(o);
    const link = extraConfigOf(values).get(extraKeys.linkedTo);
    if (!link) continue;
    const { sourceVmId, snapshotName: base } = parseLinkedTo(link);
    if (sourceVmId === vmId && (snapshotName === undefined || base === snapshotName))
      out.push(String(values["name"]));
  }
  return out;
}
