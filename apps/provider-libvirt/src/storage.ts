import { ProviderError } from "@virtrigaud/contracts";
import type { HostCallOptions, LibvirtHost } from "./host/libvirt-host.js";
import { parseXml, text } from "./xml/parse-domain.js";

/** The provider's storage pool: where volumes live and how they are made. */
export interface StoragePool {
  readonly name: string;
  /**
   * The pool's directory on the host; makes the pool first when it is
   * missing and a directory for it is configured, and starts it when inactive.
   *
   * @throws ProviderError UNAVAILABLE when the pool does not exist and none is to be created.
   */
  path(signal?: AbortSignal): Promise<string>;
  /** Forgets the cached path, after libvirtd restarted or the pool changed. */
  reset(): void;
  /** Names of the pool's volumes. */
  volumes(signal?: AbortSignal): Promise<string[]>;
  /** Makes libvirt notice files written into the pool's directory. */
  refresh(signal?: AbortSignal): Promise<void>;
}

const GiB = 1024 ** 3;

/** Capacity for virsh, in whole GiB. */
export function gib(size: number): string {
  return `${size}G`;
}

/** Bytes as whole GiB, rounded up. */
export function toGib(bytes: number): number {
  return Math.ceil(bytes / GiB);
}

/**
 * The provider's pool on the host. The pool is checked (and made when
 * `createDir` is set) on first use.
 */
export function createStoragePool(
  host: LibvirtHost,
  name: string,
  createDir: string | undefined,
): StoragePool {
  let cached: Promise<string> | undefined;
  const call = (signal?: AbortSignal): HostCallOptions => ({ signal, idempotent: true });

  const ensure = async (signal?: AbortSignal): Promise<string> => {
    const [info, xml] = await host.virsh(
      [
        ["pool-info", { pool: name }],
        ["pool-dumpxml", { pool: name }],
      ],
      call(signal),
    );
    if (info?.error) {
      if (!createDir) {
        throw ProviderError.unavailable(
          `storage pool ${name} does not exist on ${host.description}: ${info.error}`,
        );
      }
      await host.virshOk(
        [
          ["pool-define-as", { name, type: "dir", target: createDir }],
          ["pool-build", { pool: name }],
          ["pool-start", { pool: name }],
          ["pool-autostart", { pool: name }],
        ],
        { signal },
      );
      return createDir;
    }
    if (!/^State:\s+running/m.test(info?.out ?? "")) {
      await host.virshOk([["pool-start", { pool: name }]], { signal });
    }
    const pool = parseXml(xml?.out ?? "")["pool"] as Record<string, unknown> | undefined;
    const target = (pool?.["target"] ?? {}) as Record<string, unknown>;
    const path = text(target["path"]);
    if (!path) throw ProviderError.internal(`storage pool ${name} has no target path`);
    return path;
  };

  return {
    name,
    path(signal) {
      cached ??= ensure(signal).catch((err: unknown) => {
        cached = undefined;
        throw err;
      });
      return cached;
    },
    reset() {
      cached = undefined;
    },
    async volumes(signal) {
      const dir = await this.path(signal);
      const [out] = await host.virshOk([["vol-list", { pool: name }]], call(signal));
      // " Name   Path" table; the path is the last column and ends with the name.
      const names: string[] = [];
      for (const line of (out ?? "").split("\n")) {
        const path = line.trim().split(/\s+/).at(-1) ?? "";
        if (path.startsWith(`${dir}/`)) names.push(path.slice(dir.length + 1));
      }
      return names;
    },
    async refresh(signal) {
      await host.virshOk([["pool-refresh", { pool: name }]], { signal });
    },
  };
}
