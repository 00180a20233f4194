import { createHash } from "node:crypto";
import {
  ChecksumAlgorithm,
  type ImageSource,
  ImageFormat,
  type ImageUrl,
  ProviderError,
} from "@virtrigaud/contracts";
import type { LibvirtContext } from "./libvirt-context.js";

/** A disk image on the host that a root disk can be made from. */
export interface BackingImage {
  path: string;
  format: "qcow2" | "raw";
  virtualSizeBytes: number;
  /** For people: where it came from. */
  description: string;
}

/** What qemu-img says of a file, or undefined when it cannot read one. */
async function imageInfo(
  ctx: LibvirtContext,
  path: string,
  signal?: AbortSignal,
): Promise<{ format: string; virtualSizeBytes: number } | undefined> {
  // -U: the image may be in use by a running domain; qemu-img only reads.
  const result = await ctx.host.exec(["qemu-img", "info", "-U", "--output=json", path], {
    signal,
    idempotent: true,
  });
  if (result.exitCode !== 0) return undefined;
  const info = JSON.parse(result.stdout) as { format?: string; "virtual-size"?: number };
  return { format: info.format ?? "raw", virtualSizeBytes: info["virtual-size"] ?? 0 };
}

const formats: Partial<Record<ImageFormat, string>> = {
  [ImageFormat.QCOW2]: "qcow2",
  [ImageFormat.RAW]: "raw",
  [ImageFormat.VMDK]: "vmdk",
};

/** The volume names a template may have in the pool, most specific first. */
export function templateVolumeNames(template: string): string[] {
  return [`${template}.qcow2`, `${template}.raw`, template];
}

/** The volume an image downloaded from a URL is kept as: named after the URL and checksum. */
export function urlVolumeName(image: ImageUrl): string {
  const digest = createHash("sha256")
    .update(`${image.url}\n${image.checksum?.value.toLowerCase() ?? ""}`)
    .digest("hex")
    .slice(0, 16);
  return `url-${digest}`;
}

/**
 * Finds the image a Create names, without downloading: a template (a
 * volume of the pool), a file on the host, or a URL image already
 * downloaded. Undefined for a URL image not downloaded yet.
 *
 * @throws ProviderError INVALID_SPEC naming `field` when the template or path does not exist or is not a disk image.
 */
export async function findImage(
  ctx: LibvirtContext,
  image: ImageSource,
  field: string,
  signal?: AbortSignal,
): Promise<BackingImage | undefined> {
  const source = image.source;
  const poolPath = await ctx.pool.path(signal);
  const check = async (
    path: string,
    description: string,
    subfield: string,
  ): Promise<BackingImage | undefined> => {
    const info = await imageInfo(ctx, path, signal);
    if (!info) return undefined;
    if (info.format !== "qcow2" && info.format !== "raw") {
      throw ProviderError.invalidSpec(
        `${field}.${subfield}`,
        `${description} is a ${info.format} image; only qcow2 and raw boot a VM`,
      );
    }
    const format = info.format === "qcow2" ? "qcow2" : "raw";
    return { path, format, virtualSizeBytes: info.virtualSizeBytes, description };
  };
  switch (source.case) {
    case "template": {
      const volumes = new Set(await ctx.pool.volumes(signal));
      const name = templateVolumeNames(source.value).find((n) => volumes.has(n));
      const found =
        name && (await check(`${poolPath}/${name}`, `template ${source.value}`, "template"));
      if (!found) {
        throw ProviderError.invalidSpec(
          `${field}.template`,
          `no image named ${JSON.stringify(source.value)} in storage pool ${ctx.pool.name}`,
        );
      }
      return found;
    }
    case "path": {
      if (!source.value.startsWith("/")) {
        throw ProviderError.invalidSpec(`${field}.path`, "must be an absolute path on the host");
      }
      const found = await check(source.value, source.value, "path");
      if (!found) {
        throw ProviderError.invalidSpec(
          `${field}.path`,
          `${source.value} is not a disk image on the host`,
        );
      }
      return found;
    }
    case "url": {
      const volumes = new Set(await ctx.pool.volumes(signal));
      const name = templateVolumeNames(urlVolumeName(source.value)).find((n) => volumes.has(n));
      return name ? check(`${poolPath}/${name}`, source.value.url, "url.url") : undefined;
    }
    default:
      throw ProviderError.invalidSpec(field, "must name a template, a path or a URL");
  }
}

/**
 * Puts an image into the pool as volume `<name>.qcow2` or `<name>.raw`:
 * downloads a URL (http, https, or file on the host) and checks its digest,
 * or copies a host file or a template of the pool; converts vmdk to qcow2. Writes to a hidden
 * partial file first, so an interrupted download never looks prepared; the
 * partial file is named in the pool's journal while it exists.
 *
 * @throws ProviderError INVALID_SPEC naming `field` when the download fails, the
 * digest differs, or the file is not a disk image of a usable format.
 */
export async function importImage(
  ctx: LibvirtContext,
  name: string,
  source: ImageSource,
  field: string,
  signal?: AbortSignal,
): Promise<BackingImage> {
  const poolPath = await ctx.pool.path(signal);
  const partial = `${poolPath}/.${name}.partial`;
  // Named in the journal, so a download cut short by the process's end is collected.
  const record = await ctx.journal.record(
    { operation: "import", vm: "", uuid: "", files: [partial] },
    signal,
  );
  try {
    if (source.source.case === "url") {
      const image = source.source.value;
      const url = new URL(image.url);
      if (url.protocol === "file:") {
        await ctx
          .execOk(["cp", "--", decodeURIComponent(url.pathname), partial], signal)
          .catch((err: unknown) => {
            throw ProviderError.invalidSpec(
              `${field}.url.url`,
              `cannot read ${image.url} on the host`,
              {
                cause: err,
              },
            );
          });
      } else {
        const result = await ctx.host.exec(
          [
            "curl",
            "-fsSL",
            "--proto",
            "=http,https",
            "--retry",
            "2",
            "-o",
            partial,
            "--",
            image.url,
          ],
          { signal },
        );
        if (result.exitCode !== 0) {
          throw ProviderError.invalidSpec(
            `${field}.url.url`,
            `the host cannot download ${image.url}: ${result.stderr.trim()}`,
          );
        }
      }
      const algorithm =
        image.checksum?.algorithm === ChecksumAlgorithm.SHA512 ? "sha512" : "sha256";
      const digest = (await ctx.execOk([`${algorithm}sum`, "--", partial], signal)).split(/\s/)[0];
      if (digest !== image.checksum?.value.toLowerCase()) {
        throw ProviderError.invalidSpec(
          `${field}.url.checksum.value`,
          `the ${algorithm} digest of ${image.url} is ${digest}`,
        );
      }
    } else if (source.source.case === "path") {
      const path = source.source.value;
      await ctx
        .execOk(["cp", "--reflink=auto", "--", path, partial], signal)
        .catch((err: unknown) => {
          throw ProviderError.invalidSpec(`${field}.path`, `cannot copy ${path}`, {
            cause: err,
          });
        });
    } else if (source.source.case === "template") {
      // Another name for an image the pool has: a copy, so each can go its own way.
      const found = await findImage(ctx, source, field, signal);
      await ctx.execOk(["cp", "--reflink=auto", "--", found?.path ?? "", partial], signal);
    } else {
      throw ProviderError.invalidSpec(field, "must name a template, a path or a URL");
    }
    const info = await imageInfo(ctx, partial, signal);
    const declared = source.source.case === "url" ? formats[source.source.value.format] : undefined;
    if (!info || !["qcow2", "raw", "vmdk"].includes(info.format)) {
      throw ProviderError.invalidSpec(field, `not a qcow2, raw or vmdk disk image`);
    }
    if (declared && declared !== info.format) {
      throw ProviderError.invalidSpec(
        `${field}.url.format`,
        `the image is ${info.format}, not ${declared}`,
      );
    }
    const format = info.format === "raw" ? "raw" : "qcow2";
    const target = `${poolPath}/${name}.${format}`;
    if (info.format === "vmdk") {
      await ctx.execOk(["qemu-img", "convert", "-O", "qcow2", partial, target], signal);
      await ctx.execOk(["rm", "-f", "--", partial], signal);
    } else {
      await ctx.execOk(["mv", "--", partial, target], signal);
    }
    await ctx.pool.refresh(signal);
    await record.done();
    return {
      path: target,
      format,
      virtualSizeBytes: info.virtualSizeBytes,
      description: source.source.case === "url" ? source.source.value.url : source.source.value,
    };
  } catch (err) {
    const removed = await ctx.host.exec(["rm", "-f", "--", partial]).catch(() => undefined);
    if (removed?.exitCode === 0) await record.done();
    else record.leave();
    throw err;
  }
}

/**
 * The images below a disk image, nearest first, as qemu-img follows them
 * (libvirt shows backing chains only in a running domain's XML).
 */
export async function backingChain(
  ctx: LibvirtContext,
  path: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const result = await ctx.host.exec(
    ["qemu-img", "info", "-U", "--backing-chain", "--output=json", path],
    { signal, idempotent: true },
  );
  if (result.exitCode !== 0) return [];
  const chain = JSON.parse(result.stdout) as Array<{ filename?: string }>;
  return chain
    .slice(1)
    .map((c) => c.filename ?? "")
    .filter(Boolean);
}
