import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { PowerState, type SnapshotSchema } from "@virtrigaud/contracts";
import type { VirtualMachineSnapshotTree } from "@virtrigaud/vsphere-sdk";
import { isIdText } from "./ids.js";

/** A snapshot of a VM, with the one it was taken on top of. */
export interface SnapshotEntry {
  tree: VirtualMachineSnapshotTree;
  parent: VirtualMachineSnapshotTree | undefined;
}

/** The snapshots of a VM's snapshot trees, flattened, each before its children. */
export function flattenSnapshots(
  trees: VirtualMachineSnapshotTree[] | undefined,
  parent?: VirtualMachineSnapshotTree,
): SnapshotEntry[] {
  return (trees ?? []).flatMap((tree) => [
    { tree, parent },
    ...flattenSnapshots(tree.childSnapshotList, tree),
  ]);
}

/**
 * A snapshot's id: its name when that is a valid id and unique in the VM,
 * else its moref ("snapshot-42"), for snapshots made outside the provider.
 */
export function snapshotIdOf(entry: SnapshotEntry, all: SnapshotEntry[]): string {
  const { name } = entry.tree;
  const unique = all.filter((e) => e.tree.name === name).length === 1;
  return unique && isIdText(name) ? name : entry.tree.snapshot.value;
}

/** The snapshot with id `id`: by moref first, so a moref never means another snapshot's name. */
export function findSnapshot(snapshots: SnapshotEntry[], id: string): SnapshotEntry | undefined {
  return (
    snapshots.find((s) => s.tree.snapshot.value === id) ??
    snapshots.find((s) => snapshotIdOf(s, snapshots) === id)
  );
}

/** The Snapshot message of each snapshot, oldest first. */
export function snapshotsByTime(
  snapshots: SnapshotEntry[],
): Array<MessageInitShape<typeof SnapshotSchema>> {
  const byTime = [...snapshots].sort(
    (a, b) => Date.parse(a.tree.createTime) - Date.parse(b.tree.createTime),
  );
  return byTime.map((entry) => ({
    id: snapshotIdOf(entry, snapshots),
    name: entry.tree.name,
    description: entry.tree.description,
    // vCenter records a snapshot without memory as powered off.
    includeMemory: entry.tree.state === "poweredOn" || entry.tree.state === "suspended",
    parentId: entry.parent
      ? snapshotIdOf(
          snapshots.find((s) => s.tree === entry.parent)!,
          snapshots,
        )
      : "",
    powerState:
      entry.tree.state === "poweredOn"
        ? PowerState.ON
        : entry.tree.state === "suspended"
          ? PowerState.SUSPENDED
          : PowerState.OFF,
    createTime: timestampFromDate(new Date(entry.tree.createTime)),
  }));
}
