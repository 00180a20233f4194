import { Kind, type Secret } from "@virtrigaud/proto/manager";
import type { ResourceStore } from "../store/store.js";
import type { SecretAccess } from "./secret-access.js";

/** What a rotation did. */
export interface RotationResult {
  /** Secrets sealed anew under the first key. */
  resealed: number;
  /** Secrets already under it. */
  current: number;
  /** Secrets that did not open, by "namespace/name", with why (never a value). */
  failed: Array<{ secret: string; error: string }>;
}

/**
 * Seals every Secret of the store that is not under the key file's first key
 * anew under it, so the older keys can then leave the key file. Each Secret
 * is re-read and re-sealed inside its own write, so a Secret changed
 * meanwhile keeps its new values.
 */
export async function rotateSecrets(
  store: ResourceStore,
  secrets: SecretAccess,
): Promise<RotationResult> {
  const result: RotationResult = { resealed: 0, current: 0, failed: [] };
  for (const listed of store.list(Kind.SECRET)) {
    const namespace = listed.metadata?.namespace || "default";
    const name = listed.metadata?.name ?? "";
    let changed = false;
    try {
      await store.update<Secret>(Kind.SECRET, namespace, name, (copy) => {
        const resealed = secrets.resealed(copy);
        changed = resealed !== undefined;
        if (resealed) copy.encryptedData = resealed;
      });
      if (changed) result.resealed++;
      else result.current++;
    } catch (err) {
      result.failed.push({
        secret: `${namespace}/${name}`,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  await store.flush();
  return result;
}
