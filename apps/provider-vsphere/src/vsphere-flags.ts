import { type FlagValues, ServeConfigError, loadCredentials } from "@virtrigaud/contracts";
import { type VimClient, createVimClient } from "@virtrigaud/vsphere-sdk";
import { createVcenterCredentials } from "./vcenter-credentials.js";
import type { VsphereProviderOptions } from "./vsphere-provider-options.js";

/** The vSphere provider's own command-line flags (environment fallbacks in the help). */
export const vsphereFlags = {
  "vcenter-url": { type: "string" },
  datacenter: { type: "string" },
  cluster: { type: "string" },
  host: { type: "string" },
  "resource-pool": { type: "string" },
  datastore: { type: "string" },
  "datastore-cluster": { type: "string" },
  folder: { type: "string" },
  "vcenter-ca": { type: "string" },
  "vcenter-thumbprint": { type: "string" },
  "vcenter-insecure": { type: "boolean" },
  "credentials-dir": { type: "string" },
  "hot-add": { type: "string" },
  "shutdown-timeout": { type: "string" },
  "max-concurrent": { type: "string" },
  "disk-staging-dir": { type: "string" },
} as const;

export const vsphereFlagsHelp = `vSphere provider flags (environment fallback in brackets):
  --vcenter-url URL          the SDK endpoint, https://vcenter.example.com/sdk [VSPHERE_URL] (required)
  --datacenter PATH          the datacenter, by path or name (default: the only one) [VSPHERE_DATACENTER]
  --cluster PATH             default cluster for new VMs [VSPHERE_CLUSTER]
  --host PATH                default host [VSPHERE_HOST]
  --resource-pool PATH       default resource pool [VSPHERE_RESOURCE_POOL]
  --datastore PATH           default datastore [VSPHERE_DATASTORE]
  --datastore-cluster PATH   default datastore cluster (the member with the most free space) [VSPHERE_DATASTORE_CLUSTER]
  --folder PATH              default VM folder (default: the datacenter's vm folder) [VSPHERE_FOLDER]
  --vcenter-ca FILE          PEM CA certificates to verify vCenter against (default: Node's bundled roots) [VSPHERE_CA_FILE]
  --vcenter-thumbprint HEX   pin vCenter's certificate by its SHA-256 thumbprint instead [VSPHERE_THUMBPRINT]
  --vcenter-insecure         do not verify vCenter's certificate at all [VSPHERE_INSECURE=true]
  --credentials-dir DIR      files username and password (a mounted secret) [VSPHERE_CREDENTIALS_DIR];
                             else VSPHERE_USERNAME and VSPHERE_PASSWORD; with none of them, the
                             provider waits for the manager's SetCredentials (the Provider's
                             credentialSecretRef), and credentials given here win over the manager's
  --hot-add true|false       enable CPU and memory hot add on new VMs (online reconfigure) (default true) [VSPHERE_HOT_ADD]
  --shutdown-timeout SECS    how long SHUTDOWN waits for the guest by default (default 300) [VSPHERE_SHUTDOWN_TIMEOUT]
  --max-concurrent N         vCenter calls in flight at once (default 8) [VSPHERE_MAX_CONCURRENT]
  --disk-staging-dir DIR     where disk imports stage their chunks and transfers keep their records;
                             a persistent directory lets them resume after a restart
                             (default: virtrigaud-vsphere-disks in the OS temp dir) [VSPHERE_DISK_STAGING_DIR]`;

function text(
  values: FlagValues,
  env: NodeJS.ProcessEnv,
  flag: string,
  variable: string,
): string | undefined {
  const value = values[flag];
  if (typeof value === "string" && value) return value;
  const fallback = env[variable];
  return fallback ? fallback : undefined;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new ServeConfigError(`--${flag} must be a positive integer, got ${value}`);
  return n;
}

/**
 * Turns the provider's flags into its options and a vim25 client, with the
 * credentials from --credentials-dir or VSPHERE_USERNAME and VSPHERE_PASSWORD;
 * with neither a username nor a password there, from the manager's
 * SetCredentials.
 *
 * @throws ServeConfigError for a missing URL, half the credentials, a bad value, or
 * TLS options that cannot be used (a CA file that does not read, a malformed
 * thumbprint, both a thumbprint and insecure), so the binary exits with 2.
 */
export async function vsphereOptionsFromFlags(
  values: FlagValues,
  env: NodeJS.ProcessEnv = process.env,
): Promise<VsphereProviderOptions & { client: VimClient }> {
  const url = text(values, env, "vcenter-url", "VSPHERE_URL");
  if (!url) throw new ServeConfigError("--vcenter-url (or VSPHERE_URL) is required");
  const credentials = await loadCredentials({
    dir: text(values, env, "credentials-dir", "VSPHERE_CREDENTIALS_DIR"),
    envPrefix: "VSPHERE_",
    env,
  });
  const { username, password } = credentials;
  if (!username !== !password) {
    throw new ServeConfigError(
      `vCenter credentials need both a username and a password: ${username ? "the password" : "the username"} is missing from --credentials-dir or VSPHERE_${username ? "PASSWORD" : "USERNAME"}`,
    );
  }
  const login = createVcenterCredentials(username && password ? { username, password } : undefined);
  const ca = text(values, env, "vcenter-ca", "VSPHERE_CA_FILE");
  const thumbprint = text(values, env, "vcenter-thumbprint", "VSPHERE_THUMBPRINT");
  const insecure = values["vcenter-insecure"] === true || env["VSPHERE_INSECURE"] === "true";
  const hotAddText = text(values, env, "hot-add", "VSPHERE_HOT_ADD") ?? "true";
  if (hotAddText !== "true" && hotAddText !== "false") {
    throw new ServeConfigError(`--hot-add must be true or false, got ${hotAddText}`);
  }
  const shutdown = positive(
    text(values, env, "shutdown-timeout", "VSPHERE_SHUTDOWN_TIMEOUT"),
    "shutdown-timeout",
  );
  const concurrency =
    positive(text(values, env, "max-concurrent", "VSPHERE_MAX_CONCURRENT"), "max-concurrent") ?? 8;
  let client: VimClient;
  try {
    client = createVimClient({
      url,
      username: () => login.username(),
      password: () => login.password(),
      tls: {
        ...(ca ? { caFile: ca } : {}),
        ...(thumbprint ? { thumbprint } : {}),
        ...(insecure ? { insecure: true } : {}),
      },
      connections: concurrency,
    });
  } catch (err) {
    throw new ServeConfigError(`vCenter connection options: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return {
    client,
    credentials: login,
    datacenter: text(values, env, "datacenter", "VSPHERE_DATACENTER"),
    defaults: {
      cluster: text(values, env, "cluster", "VSPHERE_CLUSTER"),
      host: text(values, env, "host", "VSPHERE_HOST"),
      resourcePool: text(values, env, "resource-pool", "VSPHERE_RESOURCE_POOL"),
      datastore: text(values, env, "datastore", "VSPHERE_DATASTORE"),
      datastoreCluster: text(values, env, "datastore-cluster", "VSPHERE_DATASTORE_CLUSTER"),
      folder: text(values, env, "folder", "VSPHERE_FOLDER"),
    },
    hotAdd: hotAddText === "true",
    ...optional(
      "diskStagingDir",
      text(values, env, "disk-staging-dir", "VSPHERE_DISK_STAGING_DIR"),
    ),
    ...(shutdown ? { shutdownTimeoutSeconds: shutdown } : {}),
    limits: { concurrency },
  };
}
