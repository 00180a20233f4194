import { ProviderError, Secret } from "@virtrigaud/contracts";

/** A vCenter user name and password. */
export interface VcenterLogin {
  username: string;
  password: Secret;
}

/**
 * Where the provider's vCenter credentials come from: fixed at start-up
 * (--credentials-dir, VSPHERE_USERNAME and VSPHERE_PASSWORD), or handed over
 * by the manager with SetCredentials and kept in memory only. Credentials
 * given at start-up win: the operator who gave them decided, and the manager
 * is told so rather than silently ignored.
 */
export interface VcenterCredentials {
  /** True when the credentials were given at start-up: SetCredentials is refused. */
  readonly fixed: boolean;
  /** The user name to log in with. @throws ProviderError UNAUTHENTICATED before any was given. */
  username(): string;
  /** The password to log in with. @throws ProviderError UNAUTHENTICATED before any was given. */
  password(): string;
  /**
   * Takes credentials from SetCredentials' data (keys `username` and
   * `password`, as upstream's Secret holds them). Answers whether they differ
   * from those held, so the caller drops the session only then.
   *
   * @throws ProviderError CONFLICT when the credentials were given at
   * start-up; INVALID_SPEC naming a missing key (never a value).
   */
  set(data: Readonly<Record<string, Uint8Array>>): boolean;
}

const none = () =>
  ProviderError.unauthenticated(
    "no vCenter credentials yet: the manager sends them with SetCredentials (the Provider's credentialSecretRef), or start the provider with --credentials-dir or VSPHERE_USERNAME and VSPHERE_PASSWORD",
  );

function text(data: Readonly<Record<string, Uint8Array>>, key: string): string {
  const value = data[key];
  if (!value?.length)
    throw ProviderError.invalidSpec(`data.${key}`, `the credentials hold no ${key}`);
  return Buffer.from(value).toString("utf8");
}

/** Credentials fixed at start-up, or (`given` undefined) awaited from the manager. */
export function createVcenterCredentials(given: VcenterLogin | undefined): VcenterCredentials {
  let held = given;
  return {
    fixed: given !== undefined,
    username() {
      if (!held) throw none();
      return held.username;
    },
    password() {
      if (!held) throw none();
      return held.password.reveal();
    },
    set(data) {
      if (given)
        throw ProviderError.conflict(
          "this provider was started with vCenter credentials of its own (--credentials-dir or VSPHERE_USERNAME and VSPHERE_PASSWORD), which win over the manager's: remove them, or the Provider's credentialSecretRef",
        );
      const username = text(data, "username");
      const password = text(data, "password");
      const changed = held?.username !== username || held.password.reveal() !== password;
      if (changed) held = { username, password: new Secret(password) };
      return changed;
    },
  };
}
