import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ProviderError } from "@virtrigaud/contracts";
import {
  type EncryptedSecretData,
  EncryptedSecretDataSchema,
  SecretPayloadSchema,
} from "@virtrigaud/proto/manager";
import type { Keyring } from "./keyring.js";

// AES-256-GCM over a Secret's data. The Secret's kind, namespace and name
// are authenticated with it: a ciphertext copied into another Secret, or
// changed by one bit, does not open.

/** Where a Secret is: what its ciphertext is bound to. */
export interface SecretName {
  namespace: string;
  name: string;
}

/** A Secret's values by key. */
export type SecretValues = Record<string, Uint8Array>;

const tagBytes = 16;

function associatedData({ namespace, name }: SecretName): Buffer {
  return Buffer.from(`Secret/${namespace}/${name}`, "utf8");
}

/** Seals `data` under the keyring's first key, with a fresh random 96-bit nonce. */
export function sealSecretData(
  keyring: Keyring,
  secret: SecretName,
  data: SecretValues,
): EncryptedSecretData {
  const first = keyring.keys[0];
  if (!first) throw new Error("the keyring holds no key");
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", first.key, nonce, { authTagLength: tagBytes });
  cipher.setAAD(associatedData(secret));
  const plaintext = toBinary(SecretPayloadSchema, create(SecretPayloadSchema, { data }));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  plaintext.fill(0);
  return create(EncryptedSecretDataSchema, { keyName: first.name, nonce, ciphertext });
}

/**
 * Opens what `sealSecretData` sealed for the same Secret.
 *
 * @throws ProviderError INTERNAL naming the Secret and why (its key is not
 * in the key file; it does not authenticate: changed, or sealed for another
 * Secret), never a value.
 */
export function openSecretData(
  keyring: Keyring,
  secret: SecretName,
  sealed: EncryptedSecretData,
): SecretValues {
  const where = `Secret ${secret.namespace}/${secret.name}`;
  const entry = keyring.keys.find((k) => k.name === sealed.keyName);
  if (!entry)
    throw ProviderError.internal(
      `${where} cannot be decrypted: it was sealed with the key ${JSON.stringify(sealed.keyName)}, which ${keyring.file} does not hold`,
    );
  if (sealed.nonce.length !== 12 || sealed.ciphertext.length < tagBytes)
    throw ProviderError.internal(
      `${where} cannot be decrypted: its stored ciphertext is cut short`,
    );
  const body = sealed.ciphertext.subarray(0, sealed.ciphertext.length - tagBytes);
  const tag = sealed.ciphertext.subarray(sealed.ciphertext.length - tagBytes);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", entry.key, sealed.nonce, {
      authTagLength: tagBytes,
    });
    decipher.setAAD(associatedData(secret));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw ProviderError.internal(
      `${where} cannot be decrypted: its ciphertext does not authenticate under key ${sealed.keyName} (changed in the store, or sealed for another Secret)`,
    );
  }
  // The values are views into `plaintext`: it lives as long as they are used.
  return fromBinary(SecretPayloadSchema, plaintext).data;
}
