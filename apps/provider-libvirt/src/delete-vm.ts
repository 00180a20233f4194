import { ErrorReason, PowerState, ProviderError } from "@virtrigaud/contracts";
import { backingChain } from "./images.js";
import { type DomainView, powerStateOf } from "./inventory/inventory.js";
import type { LibvirtOperation } from "./libvirt-context.js";
import { vmTask } from "./vm-tasks.js";

/**
 * The files of a VM in the pool that its delete removes: its disks, its seed
 * and the frozen images below them, named `<pool>/<vm name>-...` directly in
 * the pool; nothing else.
 */
export function filesOfVm(
  poolPath: string,
  name: string,
  disks: readonly string[],
  chains: readonly string[][],
): string[] {
  const prefix = `${poolPath}/${name}-`;
  return [
    ...new Set(
      [...disks, ...chains.flat()].filter(
        (p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/"),
      ),
    ),
  ];
}

/**
 * Delete: a VM that does not exist is deleted already. A task powers it off,
 * undefines it (with its snapshots' metadata and NVRAM) and removes its files
 * from the pool, recorded in the journal first so the orphan collector
 * finishes a delete cut short.
 *
 * @throws ProviderError CONFLICT while linked clones sit on it;
 * PERMISSION_DENIED for a domain the provider did not create or adopt;
 * RETRYABLE while another operation holds it.
 */
export const deleteVm: LibvirtOperation<"delete"> = async (ctx, request, callSignal) => {
  const { host } = ctx;
  let view: DomainView;
  try {
    view = await ctx.findManaged(request.vmId, callSignal);
  } catch (err) {
    if (ProviderError.is(err, ErrorReason.NOT_FOUND)) return {};
    throw err;
  }
  // A linked clone's disks sit on this VM's frozen images.
  const refs = await ctx.inventory.list(callSignal);
  const others = await ctx.inventory.read(
    refs.filter((r) => r.uuid !== view.info.uuid).map((r) => r.uuid),
    callSignal,
    false,
  );
  const clones = others.filter((o) => o.info.owner?.linkedTo === view.info.uuid);
  if (clones.length) {
    throw ProviderError.conflict(
      `vm ${view.info.name} backs linked clones (${clones.map((c) => c.info.name).join(", ")}); delete them first`,
    );
  }
  const poolPath = await ctx.pool.path(callSignal);
  const task = vmTask(ctx, view, "delete", async (signal) => {
    const uuid = view.info.uuid;
    // Only files of this VM in the pool: its disks, seed, and frozen images below them.
    const prefix = `${poolPath}/${view.info.name}-`;
    const disks = view.info.disks.filter((d) => d.path.startsWith(prefix));
    const chains = await Promise.all(
      disks.filter((d) => d.device === "disk").map((d) => backingChain(ctx, d.path, signal)),
    );
    const files = filesOfVm(
      poolPath,
      view.info.name,
      disks.map((d) => d.path),
      chains,
    );
    // Named before the domain goes: a delete cut short between the two is finished by the collector.
    const record = await ctx.journal.record(
      { operation: "delete", vm: view.info.name, uuid, files },
      signal,
    );
    try {
      if (powerStateOf(view.stats?.state ?? 0) !== PowerState.OFF) {
        await host.virsh([["destroy", { domain: uuid }]], { signal });
      }
      const [undefine] = await host.virsh(
        [
          [
            "undefine",
            { domain: uuid, "snapshots-metadata": true, "managed-save": true, nvram: true },
          ],
        ],
        { signal },
      );
      if (undefine?.error && !/failed to get domain|not found/i.test(undefine.error)) {
        throw ProviderError.internal(`undefine ${view.info.name} failed: ${undefine.error}`);
      }
      if (files.length) await ctx.execOk(["rm", "-f", "--", ...files], signal);
      await ctx.pool.refresh(signal);
      await record.done();
    } catch (err) {
      // The collector finishes it: removes the files once the domain is gone, or the entry while it is there.
      record.leave();
      throw err;
    }
  });
  return { task };
};
