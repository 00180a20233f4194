import { clone, create } from "@bufbuild/protobuf";
import { ProviderError } from "@virtrigaud/contracts";
import { type EncryptedSecretData, type Secret, SecretSchema } from "@virtrigaud/proto/manager";
import type { Keyring } from "./keyring.js";
import {
  type SecretName,
  type SecretValues,
  openSecretData,
  sealSecretData,
} from "./secret-cipher.js";

/**
 * The one layer between Secrets as callers and controllers see them and as
 * the store keeps them. The store, and so its memory cache, its change log
 * and its copies, holds only the sealed form (`encryptedData`, data empty);
 * clear values exist only while a call or a reconcile uses them.
 */
export interface SecretAccess {
  /**
   * A Secret as applied, in the form to store: stringData folded into data,
   * data sealed under the first key, the ciphertext `existing` has kept when
   * the values did not change (so re-applying is "unchanged").
   *
   * @throws ProviderError UNSUPPORTED when the manager has no key file.
   */
  sealForStore(incoming: Secret, existing: Secret | undefined): Secret;
  /** A stored Secret as a caller gets it: never the sealed form; its values only when `reveal`. */
  present(stored: Secret, reveal: boolean): Secret;
  /**
   * A stored Secret's values, for the moment they are used.
   *
   * @throws ProviderError INTERNAL when they cannot be decrypted (see `openSecretData`).
   */
  valuesOf(stored: Secret): SecretValues;
  /** The stored Secret's data sealed under the first key; undefined when it already is. */
  resealed(stored: Secret): EncryptedSecretData | undefined;
}

/** Where a Secret message is. */
function nameOf(secret: Secret): SecretName {
  return { namespace: secret.metadata?.namespace || "default", name: secret.metadata?.name ?? "" };
}

function sameValues(a: SecretValues, b: SecretValues): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => {
    const x = a[k];
    const y = b[k];
    return x !== undefined && y !== undefined && Buffer.from(x).equals(Buffer.from(y));
  });
}

/**
 * Secrets sealed with `keyring`'s keys; without a keyring, the manager
 * refuses Secrets rather than keep them in clear text.
 */
export function createSecretAccess(keyring: Keyring | undefined): SecretAccess {
  const noKeys = () =>
    ProviderError.unsupported(
      "Secrets need a key to be encrypted with: start the manager with --secret-key-file FILE (make one with `virtrigaud-manager secret-key generate FILE`); without one it stores no Secret rather than keep it in clear text",
    );
  const valuesOf = (stored: Secret): SecretValues => {
    if (!stored.encryptedData) return {};
    if (!keyring)
      throw ProviderError.internal(
        `Secret ${nameOf(stored).namespace}/${nameOf(stored).name} cannot be decrypted: the manager has no --secret-key-file`,
      );
    return openSecretData(keyring, nameOf(stored), stored.encryptedData);
  };
  return {
    sealForStore(incoming, existing) {
      if (!keyring) throw noKeys();
      const values: SecretValues = { ...incoming.data };
      for (const [key, text] of Object.entries(incoming.stringData))
        values[key] = Buffer.from(text, "utf8");
      let sealed: EncryptedSecretData | undefined;
      const kept = existing?.encryptedData;
      if (kept && kept.keyName === keyring.keys[0]?.name) {
        try {
          if (sameValues(valuesOf(existing), values)) sealed = kept;
        } catch {
          // What is stored does not open: sealed anew below, replacing it.
        }
      }
      sealed ??= sealSecretData(keyring, nameOf(incoming), values);
      return create(SecretSchema, {
        apiVersion: incoming.apiVersion,
        kind: incoming.kind,
        ...(incoming.metadata ? { metadata: incoming.metadata } : {}),
        type: incoming.type || "Opaque",
        encryptedData: sealed,
      });
    },
    present(stored, reveal) {
      const out = clone(SecretSchema, stored);
      out.encryptedData = undefined;
      out.data = reveal ? valuesOf(stored) : {};
      return out;
    },
    valuesOf,
    resealed(stored) {
      if (!keyring || !stored.encryptedData) return undefined;
      if (stored.encryptedData.keyName === keyring.keys[0]?.name) return undefined;
      return sealSecretData(keyring, nameOf(stored), valuesOf(stored));
    },
  };
}
