import { ProviderError } from "@virtrigaud/contracts";
import type { CloudInitSource, VirtualMachine } from "@virtrigaud/proto/manager";
import type { SecretValues } from "../secrets/secret-cipher.js";

// A VM's cloud-init documents, from inline text and Secrets, as upstream
// VirtRigaud reads them. Pure: the Secrets' values come from `read`.

/** Keys a Secret may hold user data under, the first present taken. */
const userDataKeys = ["userdata", "user-data", "cloud-init", "cloud-config"] as const;
/** Keys a Secret may hold meta data under, the first present taken. */
const metaDataKeys = ["metadata", "meta-data", "meta_data"] as const;

/** Why a VM's cloud-init cannot be read yet; never holds a value. */
export interface CloudInitUnresolved {
  reason: "SecretNotFound" | "SecretKeyNotFound" | "SecretUnreadable";
  message: string;
}

/**
 * Reads a Secret of the VM's namespace by name: its values, undefined when
 * it does not exist, or the ProviderError that says why it does not open.
 */
export type ReadSecret = (name: string) => SecretValues | undefined | ProviderError;

const boundary = "VIRTRIGAUD-CLOUD-INIT-PART";

/** Several cloud-config documents as one MIME multipart document, which cloud-init reads whole. */
export function multipartCloudConfig(parts: readonly string[]): string {
  const body = parts
    .map((part) => `--${boundary}\nContent-Type: text/cloud-config; charset="utf-8"\n\n${part}\n`)
    .join("\n");
  return `Content-Type: multipart/mixed; boundary="${boundary}"\nMIME-Version: 1.0\n\n${body}\n--${boundary}--\n`;
}

function fromSecret(
  source: CloudInitSource | undefined,
  keys: readonly string[],
  what: string,
  read: ReadSecret,
): string | CloudInitUnresolved | undefined {
  const ref = source?.secretRef;
  if (!ref) return undefined;
  const values = read(ref.name);
  if (values === undefined)
    return {
      reason: "SecretNotFound",
      message: `Secret ${ref.name}, named by the ${what} secretRef, does not exist`,
    };
  if (values instanceof ProviderError)
    return { reason: "SecretUnreadable", message: values.message };
  const key = keys.find((k) => values[k] !== undefined);
  const value = key === undefined ? undefined : values[key];
  if (value === undefined)
    return {
      reason: "SecretKeyNotFound",
      message: `Secret ${ref.name} holds no ${what} under any of the keys ${keys.join(", ")}`,
    };
  return Buffer.from(value).toString("utf8");
}

/**
 * The user data and meta data Create gets: each from its inline text, its
 * Secret, or both (user data as one multipart document, meta data joined by
 * a line break); undefined when the VM has neither.
 */
export function resolveCloudInit(
  vm: VirtualMachine,
  read: ReadSecret,
): { userData: string; metaData: string } | undefined | { unresolved: CloudInitUnresolved } {
  const user = vm.spec?.userData?.cloudInit;
  const meta = vm.spec?.metaData?.cloudInit;
  const userSecret = fromSecret(user, userDataKeys, "user data", read);
  if (typeof userSecret === "object") return { unresolved: userSecret };
  const metaSecret = fromSecret(meta, metaDataKeys, "meta data", read);
  if (typeof metaSecret === "object") return { unresolved: metaSecret };
  const userParts = [user?.inline, userSecret].filter((p): p is string => !!p);
  const metaParts = [meta?.inline, metaSecret].filter((p): p is string => !!p);
  if (!userParts.length && !metaParts.length) return undefined;
  return {
    userData: userParts.length > 1 ? multipartCloudConfig(userParts) : (userParts[0] ?? ""),
    metaData: metaParts.join("\n"),
  };
}
