import { ImageFormat, ProviderError } from "@virtrigaud/contracts";

/** The formats the provider exports and imports disks in. */
export type DiskFormat = "qcow2" | "raw";

/** The format's name for qemu-img, or undefined when the provider does not handle it. */
function diskFormatOf(format: ImageFormat): DiskFormat | undefined {
  if (format === ImageFormat.QCOW2) return "qcow2";
  if (format === ImageFormat.RAW) return "raw";
  return undefined;
}

/** The contract's name of a format. */
export function imageFormatOf(format: DiskFormat): ImageFormat {
  return format === "qcow2" ? ImageFormat.QCOW2 : ImageFormat.RAW;
}

/**
 * The format a request asks for; `fallback` for unspecified.
 *
 * @throws ProviderError INVALID_SPEC naming `field` for a format the provider does not handle.
 */
export function requestedFormat(
  format: ImageFormat,
  field: string,
  fallback?: DiskFormat,
): DiskFormat {
  if (format === ImageFormat.UNSPECIFIED && fallback) return fallback;
  const known = diskFormatOf(format);
  if (!known) throw ProviderError.invalidSpec(field, "must be qcow2 or raw");
  return known;
}
