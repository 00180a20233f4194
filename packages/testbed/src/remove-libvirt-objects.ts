import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { LibvirtTestbed } from "./libvirt-testbed.js";

const run = promisify(execFile);

/** What a test or a benchmark made on the libvirt test bed, to remove at its end. */
export interface LibvirtObjects {
  /** Domains, stopped and undefined with all their storage and snapshots. */
  domains?: readonly string[];
  /** Storage pools, stopped and undefined (their directories stay: the caller made them). */
  pools?: readonly string[];
}

/**
 * The virsh commands that remove `objects`, in order: every domain before
 * any pool, since undefining a domain's storage needs its pool running.
 */
export function removalCommands(objects: LibvirtObjects): string[][] {
  return [
    ...(objects.domains ?? []).flatMap((name) => [
      ["destroy", name],
      ["undefine", name, "--remove-all-storage", "--snapshots-metadata"],
    ]),
    ...(objects.pools ?? []).flatMap((name) => [
      ["pool-destroy", name],
      ["pool-undefine", name],
    ]),
  ];
}

/**
 * Removes `objects` from the test bed's libvirtd with virsh, for an
 * afterAll or a benchmark's end: each command's failure (a domain never
 * made, or already gone) is ignored, so that the rest still runs.
 */
export async function removeLibvirtObjects(
  bed: Pick<LibvirtTestbed, "uri">,
  objects: LibvirtObjects,
): Promise<void> {
  for (const args of removalCommands(objects)) {
    await run("virsh", ["-q", "-c", bed.uri, ...args]).catch(() => undefined);
  }
}
