import { ProviderError } from "@virtrigaud/contracts";
import { isLoopbackHost } from "@virtrigaud/contracts/server";
import { Kind, type Provider as ProviderResource, type Secret } from "@virtrigaud/proto/manager";
import type { AnyResource } from "../manifest/kinds.js";
import type { SecretValues } from "../secrets/secret-cipher.js";
import { isSharedWith, sharedWithAnnotation } from "./namespace-sharing.js";

// What a Provider's credentialSecretRef asks the manager to send, decided
// from the Provider and what the store holds. Pure: the Secret's values come
// from `open`. Nothing here, reasons and messages included, holds a value.

/** Why a Provider's credentials are not sent; never holds a value. */
interface CredentialsBlocked {
  reason: "CredentialsNotFound" | "CredentialsUnreadable" | "CredentialsInsecure";
  message: string;
}

/** What to do about a Provider's credentials. */
export type CredentialsPlan =
  /** No credentialSecretRef: the provider reads its own. */
  | { send: false; blocked?: undefined }
  /** Send `data`. */
  | { send: true; data: SecretValues; blocked?: undefined }
  | { send: false; blocked: CredentialsBlocked };

/** The Secret a Provider's credentialSecretRef names, as "namespace/name"; undefined without one. */
export function credentialsSecretKey(p: ProviderResource): string | undefined {
  const ref = p.spec?.credentialSecretRef;
  if (!ref?.name) return undefined;
  return `${ref.namespace || p.metadata?.namespace || "default"}/${ref.name}`;
}

/**
 * Whether the credentials may go to `endpoint`: over TLS, or plaintext to a
 * loopback address only (a name other than localhost could resolve anywhere).
 */
export function credentialsMayGoTo(endpoint: string): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  return isLoopbackHost(url.hostname.replace(/^\[(.*)\]$/, "$1"));
}

/**
 * What the manager should do about `p`'s credentials: nothing, send the
 * Secret's data, or wait, saying why. A Secret of another namespace is used
 * only when it is shared with the Provider's (the annotation
 * virtrigaud.io/shared-with), and one that does not exist is reported in the
 * same words as one not shared.
 */
export function planCredentials(
  p: ProviderResource,
  lookup: (kind: Kind, namespace: string, name: string) => AnyResource | undefined,
  open: (secret: Secret) => SecretValues,
): CredentialsPlan {
  const key = credentialsSecretKey(p);
  if (!key) return { send: false };
  const own = p.metadata?.namespace || "default";
  const [namespace = own, name = ""] = key.split("/");
  if (!credentialsMayGoTo(p.spec?.endpoint ?? ""))
    return {
      send: false,
      blocked: {
        reason: "CredentialsInsecure",
        message: `spec.credentialSecretRef: credentials are sent only over TLS or to a loopback endpoint; spec.endpoint is plaintext to another host (use https:// and spec.tls)`,
      },
    };
  const secret = lookup(Kind.SECRET, namespace, name) as Secret | undefined;
  if (!secret || secret.metadata?.deletionTimestamp || !isSharedWith(secret, own))
    return {
      send: false,
      blocked: {
        reason: "CredentialsNotFound",
        message:
          namespace === own
            ? `Secret ${name}, named by spec.credentialSecretRef, does not exist`
            : `Secret ${key}, named by spec.credentialSecretRef, does not exist or is not shared with namespace ${own} (its annotation ${sharedWithAnnotation})`,
      },
    };
  try {
    return { send: true, data: open(secret) };
  } catch (err) {
    return {
      send: false,
      blocked: { reason: "CredentialsUnreadable", message: ProviderError.from(err).rawMessage },
    };
  }
}

/**
 * Which revision of its credentials a Provider asks for, without opening
 * the Secret: a change means the credentials should be sent again now.
 */
export function credentialsVersion(
  p: ProviderResource,
  lookup: (kind: Kind, namespace: string, name: string) => AnyResource | undefined,
): string {
  const key = credentialsSecretKey(p);
  if (!key) return "";
  const [namespace = "", name = ""] = key.split("/");
  const secret = lookup(Kind.SECRET, namespace, name);
  const at = secret && !secret.metadata?.deletionTimestamp ? secret.metadata?.resourceVersion : "";
  return `${p.spec?.endpoint ?? ""}|${key}@${at ?? ""}`;
}
