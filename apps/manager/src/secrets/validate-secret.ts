import { ProviderError } from "@virtrigaud/contracts";
import type { Secret } from "@virtrigaud/proto/manager";

/** A key of a Secret's data, as Kubernetes allows them. */
const secretKey = /^[-._a-zA-Z0-9]+$/;

/** The most a Secret's keys and values may total, as Kubernetes' 1 MiB. */
const maxSecretBytes = 1024 * 1024;

/**
 * Checks a Secret as applied: its keys, its size (data and stringData
 * together), and that it does not carry the manager's encrypted form. Values
 * never appear in the errors.
 *
 * @throws ProviderError INVALID_SPEC naming the field by its path in the
 * ApplyRequest ("resource.secret.data").
 */
export function validateSecret(secret: Secret, at: (field: string) => string): void {
  if (secret.encryptedData)
    throw ProviderError.invalidSpec(at("encrypted_data"), "is set by the manager, not applied");
  let bytes = 0;
  const check = (field: string, key: string, size: number) => {
    if (!secretKey.test(key) || key.length > 253 || key === "." || key === "..")
      throw ProviderError.invalidSpec(
        at(`${field}[${JSON.stringify(key.slice(0, 64))}]`),
        "a key must be letters, digits, '-', '_' or '.' (at most 253, not '.' or '..')",
      );
    bytes += Buffer.byteLength(key) + size;
  };
  for (const [key, value] of Object.entries(secret.data)) check("data", key, value.length);
  for (const [key, value] of Object.entries(secret.stringData))
    check("string_data", key, Buffer.byteLength(value));
  if (bytes > maxSecretBytes)
    throw ProviderError.invalidSpec(
      at("data"),
      `holds ${bytes} bytes with stringData; a Secret holds at most ${maxSecretBytes} (1 MiB)`,
    );
}
