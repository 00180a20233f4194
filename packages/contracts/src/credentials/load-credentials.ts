import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Secret } from "./secret.js";

/** Credentials a provider uses toward its backend. */
export interface Credentials {
  username?: string;
  password?: Secret;
  token?: Secret;
  /** PEM client certificate. */
  tlsCert?: string;
  /** PEM key of the client certificate. */
  tlsKey?: Secret;
}

/** Where credentials come from. */
export interface LoadCredentialsOptions {
  /**
   * A directory holding files named username, password, token, tls.crt and
   * tls.key (the layout of a mounted Kubernetes secret). Files win over the
   * environment.
   */
  dir?: string | undefined;
  /**
   * The prefix of the environment fallbacks: with "VSPHERE_", VSPHERE_USERNAME,
   * VSPHERE_PASSWORD, VSPHERE_TOKEN, VSPHERE_TLS_CERT and VSPHERE_TLS_KEY.
   * Default: "PROVIDER_".
   */
  envPrefix?: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

async function readOptional(dir: string | undefined, name: string): Promise<string | undefined> {
  if (!dir) return undefined;
  try {
    return await readFile(join(dir, name), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Reads credentials from a directory of files, falling back to environment
 * variables. A trailing newline is dropped from single-line values.
 *
 * @throws Error when a file exists but cannot be read.
 */
export async function loadCredentials(options: LoadCredentialsOptions = {}): Promise<Credentials> {
  const env = options.env ?? process.env;
  const prefix = options.envPrefix ?? "PROVIDER_";
  const value = async (file: string, variable: string, trim: boolean) => {
    const raw = (await readOptional(options.dir, file)) ?? env[`${prefix}${variable}`];
    if (raw === undefined || raw === "") return undefined;
    return trim ? raw.replace(/\r?\n$/, "") : raw;
  };
  const [username, password, token, tlsCert, tlsKey] = await Promise.all([
    value("username", "USERNAME", true),
    value("password", "PASSWORD", true),
    value("token", "TOKEN", true),
    value("tls.crt", "TLS_CERT", false),
    value("tls.key", "TLS_KEY", false),
  ]);
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password: new Secret(password) }),
    ...(token === undefined ? {} : { token: new Secret(token) }),
    ...(tlsCert === undefined ? {} : { tlsCert }),
    ...(tlsKey === undefined ? {} : { tlsKey: new Secret(tlsKey) }),
  };
}
