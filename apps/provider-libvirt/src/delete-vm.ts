import { ErrorReason, PowerState, ProviderError } from "@virtrigaud/contracts";
import { backingChain } from "./images.js";
import { type DomainView, powerStateOf } from "./inventory/inventory.js";
import { poolNamed } from "./disks/imports.js";
import type { LibvirtContext, LibvirtOperation } from "./libvirt-context.js";
import type { StoragePool } from "./storage.js";
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
 * The VM's disks in pools other than the provider's (imported disks it
 * adopted where its placement asked): those of a pool of the host, directly
 * in its directory and named after the VM, as in the provider's pool.
 */
async function disksInOtherPools(
  ctx: LibvirtContext,
  name: string,
  disks: ReadonlyArray<{ path: string }>,
  signal: AbortSignal,
): Promise<{ files: string[]; pools: StoragePool[] }> {
  const files: string[] = [];
  const pools = new Map<string, StoragePool>();
  if (!disks.length) return { files, pools: [] };
  const named = await ctx.host.virsh(
    disks.map((d) => ["vol-pool", { vol: d.path }] as const),
    { signal, idempotent: true },
  );
  for (const [i, disk] of disks.entries()) {
    const poolName = named[i]?.error ? "" : (named[i]?.out.trim() ?? "");
    // Not a volume of any pool: not the VM's to remove.
    if (!poolName) continue;
    const pool = poolNamed(ctx, poolName);
    const found = filesOfVm(await pool.path(signal), name, [disk.path], []);
    files.push(...found);
    if (found.length) pools.set(poolName, pool);
  }
  return { files, pools: [...pools.values()] };
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
    const elsewhere = await disksInOtherPools(
      ctx,
      view.info.name,
      // Only a VM Create made has disks elsewhere that are its own; an adopted domain's are not.
      view.info.owner?.origin === "created"
        ? view.info.disks.filter((d) => d.device === "disk" && !d.path.startsWith(prefix))
        : [],
      signal,
    );
    const files = [
      ...filesOfVm(
        poolPath,
        view.info.name,
        disks.map((d) => d.path),
        chains,
      ),
      ...elsewhere.files,
    ];
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
      for (const pool of [ctx.pool, ...elsewhere.pools]) await pool.refresh(signal);
      await record.done();
    } catch (err) {
      // The collector finishes it: removes the files once the domain is gone, or the entry while it is there.
      record.leave();
      throw err;
    }
  });
  return { task };
};
