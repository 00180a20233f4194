// Real disks on vcsim's datastore, whose own VM disks hold no bytes: an image
// converted to a VMDK, uploaded through the datastore file service, attached
// to a VM. Used by the disk-transfer and conformance tests.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  createReadStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  type DatastoreFile,
  type VimClient,
  createFinder,
  datastorePath,
  findVMByUuid,
  makeDatastoreDirectory,
  reconfigureVM,
  retrieveOne,
  uploadDatastoreFile,
  waitForTask,
} from "@virtrigaud/vsphere-sdk";
import { attachDisk, devicesOf, scsiSlots } from "../src/devices.js";

/** Where the disks go: a datastore of vcsim, seen through `inspector`, and a local work directory. */
export interface DatastoreDisks {
  inspector: VimClient;
  datastore: string;
  /** A local directory for the converted files (each conversion cleans up its own). */
  work: string;
}

/** A raw disk of `mib` MiB: random bytes with zero MiBs between them. */
export function rawDisk(mib: number): Buffer {
  const disk = Buffer.alloc(mib << 20);
  for (let i = 0; i < mib; i += 3) randomBytes(1 << 20).copy(disk, i << 20);
  return disk;
}

/** A file of the datastore, in its datacenter. */
export async function datastoreFile(at: DatastoreDisks, path: string): Promise<DatastoreFile> {
  const dc = await createFinder(at.inspector).datacenter();
  return { datacenterPath: dc.path, datastore: at.datastore, path };
}

/**
 * Converts a disk image to a VMDK of `subformat` and stores its files in a
 * datastore directory; answers the VMDK's datastore path.
 */
export async function putVmdk(
  at: DatastoreDisks,
  image: string,
  imageFormat: string,
  dir: string,
  name: string,
  subformat = "monolithicFlat",
): Promise<string> {
  const local = mkdtempSync(join(at.work, "vmdk-"));
  try {
    execFileSync("qemu-img", [
      "convert",
      "-f",
      imageFormat,
      "-O",
      "vmdk",
      "-o",
      `subformat=${subformat},adapter_type=lsilogic`,
      image,
      join(local, "d.vmdk"),
    ]);
    const dc = await createFinder(at.inspector).datacenter();
    await makeDatastoreDirectory(
      at.inspector,
      dc.ref,
      datastorePath(await datastoreFile(at, dir)),
      true,
    );
    const names: Array<[string, string]> = [[`${name}.vmdk`, "d.vmdk"]];
    if (subformat === "monolithicFlat") {
      // The descriptor names its extent: rename it to go with the new name.
      const text = readFileSync(join(local, "d.vmdk"), "utf8").replace(
        "d-flat.vmdk",
        `${name}-flat.vmdk`,
      );
      writeFileSync(join(local, "d.vmdk"), text);
      names.push([`${name}-flat.vmdk`, "d-flat.vmdk"]);
    } else {
      // vcsim attaches a disk only when a "-flat.vmdk" is beside it, whatever its descriptor says.
      writeFileSync(join(local, "empty"), "");
      names.push([`${name}-flat.vmdk`, "empty"]);
    }
    for (const [remote, own] of names) {
      const path = join(local, own);
      await uploadDatastoreFile(
        at.inspector,
        await datastoreFile(at, `${dir}/${remote}`),
        () => createReadStream(path),
        statSync(path).size,
      );
    }
    return datastorePath(await datastoreFile(at, `${dir}/${name}.vmdk`));
  } finally {
    rmSync(local, { recursive: true, force: true });
  }
}

/** Attaches the VMDK at `fileName` (a datastore path) to the VM `vmId` as its first SCSI disk. */
export async function attachVmdk(
  at: DatastoreDisks,
  vmId: string,
  fileName: string,
  capacityBytes: number,
): Promise<void> {
  const dc = await createFinder(at.inspector).datacenter();
  const ref = await findVMByUuid(at.inspector, vmId, { datacenter: dc.ref });
  if (!ref) throw new Error(`no VM ${vmId}`);
  const { controllerKey, free } = scsiSlots(
    devicesOf(await retrieveOne(at.inspector, ref, ["config.hardware.device"])),
  );
  await waitForTask(
    at.inspector,
    await reconfigureVM(at.inspector, ref, {
      deviceChange: [attachDisk(-1, controllerKey!, free[0]!, capacityBytes / 1024, fileName)],
    }),
  );
}
