import { ProviderError } from "@virtrigaud/contracts";
import type { LibvirtContext } from "../libvirt-context.js";
import type { StoragePool } from "../storage.js";
import { poolNamed } from "./imports.js";

/** The field a request names its pool in. */
const field = "placement.storage_pool";

// virsh reads its command string line by line; a pool name holds no '/'.
// eslint-disable-next-line no-control-regex
const notPoolName = /[\u0000-\u001f\u007f/]/u;

/**
 * The name of the pool a request's `placement.storage_pool` asks for: the
 * provider's own when it is empty.
 *
 * @throws ProviderError INVALID_SPEC at placement.storage_pool for a name no pool can have.
 */
export function askedPoolName(ctx: LibvirtContext, asked: string | undefined): string {
  const name = asked || ctx.pool.name;
  if (notPoolName.test(name)) {
    throw ProviderError.invalidSpec(field, `${JSON.stringify(name)} is not a pool name`);
  }
  return name;
}

/**
 * The pool of that name and its directory on the host.
 *
 * @throws ProviderError INVALID_SPEC at placement.storage_pool when the host has no such pool.
 */
export async function askedPool(
  ctx: LibvirtContext,
  name: string,
  signal?: AbortSignal,
): Promise<{ pool: StoragePool; path: string }> {
  const pool = poolNamed(ctx, name);
  const path = await pool.path(signal).catch((err: unknown) => {
    if (pool === ctx.pool) throw err;
    throw ProviderError.invalidSpec(field, `no storage pool ${JSON.stringify(name)}`, {
      cause: err,
    });
  });
  return { pool, path };
}
