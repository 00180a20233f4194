import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  type FlagValues,
  type Logger,
  Secret,
  ServeConfigError,
  loadCredentials,
  parseDuration,
} from "@virtrigaud/contracts";
import { createLibvirtHost } from "./host/libvirt-host.js";
import { createLocalTransport } from "./host/local-transport.js";
import { createSshTransport } from "./host/ssh-transport.js";
import type { LibvirtProviderOptions } from "./libvirt-options.js";

/** The libvirt provider's own command-line flags. */
export const libvirtFlags = {
  "libvirt-uri": { type: "string" },
  "ssh-host": { type: "string" },
  "ssh-port": { type: "string" },
  "ssh-user": { type: "string" },
  "ssh-key": { type: "string" },
  "ssh-known-hosts": { type: "string" },
  "ssh-insecure-ignore-host-key": { type: "boolean" },
  "credentials-dir": { type: "string" },
  "storage-pool": { type: "string" },
  "create-pool-dir": { type: "string" },
  "default-network": { type: "string" },
  "vnc-listen": { type: "string" },
  "console-host": { type: "string" },
  headroom: { type: "string" },
  "domain-type": { type: "string" },
  "shutdown-timeout": { type: "string" },
  adopt: { type: "string" },
  "host-concurrency": { type: "string" },
  "host-qps": { type: "string" },
  "scratch-dir": { type: "string" },
  "orphan-grace": { type: "string" },
} as const;

export const libvirtFlagsHelp = `libvirt flags (environment fallback: VIRTRIGAUD_<FLAG>, for example VIRTRIGAUD_SSH_HOST):
  --libvirt-uri URI         libvirt URI virsh uses on the host (default qemu:///system)
  --ssh-host HOST           reach the host over SSH; without it, run virsh on this machine
  --ssh-port N              (default 22)
  --ssh-user USER           (default: the credentials' username, else root)
  --ssh-key FILE            private key (default: ssh-privatekey in --credentials-dir)
  --ssh-known-hosts FILE    host keys to trust (default ~/.ssh/known_hosts)
  --ssh-insecure-ignore-host-key
                            accept any host key: allows a man in the middle; test rigs only
  --credentials-dir DIR     files username, password, ssh-privatekey, ssh-passphrase
                            (default: LIBVIRT_SSH_USERNAME, LIBVIRT_SSH_PASSWORD)
  --storage-pool NAME       pool for disks, seeds and images (default "default")
  --create-pool-dir PATH    create the pool as a dir pool here when it does not exist
  --default-network NAME    network of the NIC a Create without NICs gets (default: none)
  --vnc-listen ADDR|off     VNC consoles listen here (default 127.0.0.1)
  --console-host HOST       host name in console URLs when VNC listens on 0.0.0.0 (default: --ssh-host)
  --headroom N              max vcpus and memory are N times the requested, for live growth (default 2)
  --domain-type TYPE        auto, kvm or qemu (default auto: kvm where the CPU has vmx/svm)
  --shutdown-timeout DUR    graceful shutdown wait when the request gives none (default 5m)
  --adopt NAME[,NAME]       domains made elsewhere that the provider may manage
  --host-concurrency N      commands running on the host at once, one shell each (default 4)
  --host-qps N              commands per second toward the host (default: no limit)
  --scratch-dir DIR         directory on the host for the provider's short-lived files (default /tmp)
  --orphan-grace DUR        files of operations whose provider process died are removed once
                            unchanged this long (default 15m)`;

function text(values: FlagValues, name: string, env: NodeJS.ProcessEnv): string | undefined {
  const value = values[name];
  if (typeof value === "string") return value;
  const fallback = env[`VIRTRIGAUD_${name.toUpperCase().replaceAll("-", "_")}`];
  return fallback ? fallback : undefined;
}

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/u;

/** A name or path that reaches virsh, XML or the host's file system: no control characters. */
function plain(values: FlagValues, name: string, env: NodeJS.ProcessEnv): string | undefined {
  const value = text(values, name, env);
  if (value !== undefined && controlCharacters.test(value)) {
    throw new ServeConfigError(
      `--${name} must not hold control characters, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function positive(values: FlagValues, name: string, env: NodeJS.ProcessEnv): number | undefined {
  const raw = text(values, name, env);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new ServeConfigError(`--${name} must be a positive number, got ${raw}`);
  }
  return value;
}

async function optionalFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Turns the flags into provider options, opening the host client.
 *
 * @throws ServeConfigError for a flag that does not parse, a missing key
 * file, or SSH without credentials or without a known_hosts file.
 */
export async function libvirtOptionsFromFlags(
  values: FlagValues,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LibvirtProviderOptions> {
  const uri = plain(values, "libvirt-uri", env) ?? "qemu:///system";
  const sshHost = text(values, "ssh-host", env);
  const scratchRoot = plain(values, "scratch-dir", env);
  if (scratchRoot !== undefined && !scratchRoot.startsWith("/")) {
    throw new ServeConfigError(`--scratch-dir must be an absolute path, got ${scratchRoot}`);
  }
  const concurrency = positive(values, "host-concurrency", env);
  const qps = positive(values, "host-qps", env);
  let transport;
  if (sshHost) {
    const dir = text(values, "credentials-dir", env);
    const credentials = await loadCredentials({ dir, envPrefix: "LIBVIRT_SSH_", env });
    const keyFile = text(values, "ssh-key", env);
    let privateKey: Secret | undefined;
    if (keyFile) {
      const key = await optionalFile(keyFile);
      if (!key) throw new ServeConfigError(`--ssh-key ${keyFile} does not exist`);
      privateKey = new Secret(key);
    } else if (dir) {
      const key = await optionalFile(join(dir, "ssh-privatekey"));
      if (key) privateKey = new Secret(key);
    }
    const passphrase = dir ? await optionalFile(join(dir, "ssh-passphrase")) : undefined;
    if (!privateKey && !credentials.password) {
      throw new ServeConfigError(
        "SSH needs --ssh-key, or a password or key in --credentials-dir or LIBVIRT_SSH_PASSWORD",
      );
    }
    const insecure =
      values["ssh-insecure-ignore-host-key"] === true ||
      env["VIRTRIGAUD_SSH_INSECURE_IGNORE_HOST_KEY"] === "true";
    const port = positive(values, "ssh-port", env) ?? 22;
    if (!Number.isInteger(port) || port > 65535)
      throw new ServeConfigError(`--ssh-port must be a port, got ${port}`);
    if (insecure) logger.warn("SSH host keys are not checked (--ssh-insecure-ignore-host-key)");
    transport = createSshTransport({
      host: sshHost,
      port,
      username: text(values, "ssh-user", env) ?? credentials.username ?? "root",
      ...(privateKey ? { privateKey } : {}),
      ...(passphrase ? { passphrase: new Secret(passphrase.replace(/\r?\n$/, "")) } : {}),
      ...(credentials.password ? { password: credentials.password } : {}),
      ...(insecure
        ? { insecureIgnoreHostKey: true }
        : {
            knownHostsFile:
              text(values, "ssh-known-hosts", env) ?? join(homedir(), ".ssh", "known_hosts"),
          }),
      logger,
    });
  } else {
    transport = createLocalTransport();
  }
  const host = createLibvirtHost({
    transport,
    uri,
    ...(concurrency ? { sessions: Math.floor(concurrency) } : {}),
    ...(qps ? { qps } : {}),
    ...(scratchRoot ? { scratchRoot } : {}),
    logger,
  });
  const domainType = text(values, "domain-type", env) ?? "auto";
  if (domainType !== "auto" && domainType !== "kvm" && domainType !== "qemu") {
    throw new ServeConfigError(`--domain-type must be auto, kvm or qemu, got ${domainType}`);
  }
  const vnc = text(values, "vnc-listen", env) ?? "127.0.0.1";
  const shutdown = text(values, "shutdown-timeout", env);
  let shutdownMs: number | undefined;
  try {
    shutdownMs = shutdown === undefined ? undefined : parseDuration(shutdown);
  } catch (err) {
    throw new ServeConfigError(`--shutdown-timeout: ${(err as Error).message}`);
  }
  const grace = text(values, "orphan-grace", env);
  let graceMs: number | undefined;
  try {
    graceMs = grace === undefined ? undefined : parseDuration(grace);
  } catch (err) {
    throw new ServeConfigError(`--orphan-grace: ${(err as Error).message}`);
  }
  const pool = plain(values, "storage-pool", env);
  const createPoolDir = plain(values, "create-pool-dir", env);
  const network = plain(values, "default-network", env);
  const headroom = positive(values, "headroom", env);
  const adopt = plain(values, "adopt", env);
  const consoleHost = text(values, "console-host", env) ?? sshHost;
  return {
    host,
    domainType,
    vncListen: vnc === "off" ? undefined : vnc,
    ...(pool ? { storagePool: pool } : {}),
    ...(createPoolDir ? { createPoolDir } : {}),
    ...(network ? { defaultNetwork: network } : {}),
    ...(headroom ? { headroom } : {}),
    ...(consoleHost ? { consoleHost } : {}),
    ...(shutdownMs !== undefined
      ? { defaultShutdownTimeoutSeconds: Math.ceil(shutdownMs / 1000) }
      : {}),
    ...(graceMs !== undefined ? { orphans: { graceMs } } : {}),
    ...(adopt
      ? {
          adopt: adopt
            .split(",")
            .map((a) => a.trim())
            .filter(Boolean),
        }
      : {}),
    logger,
  };
}
