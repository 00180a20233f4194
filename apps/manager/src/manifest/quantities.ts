import { parseDuration } from "@virtrigaud/contracts";

const binary: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimal: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * Bytes in a Kubernetes quantity: "4Gi", "512Mi", "2G", "1.5Gi", "1073741824".
 *
 * Very large quantities come out inexact, or Infinity: check them against
 * a maximum (`maxMemoryBytes`, `maxDiskBytes`) before use.
 *
 * @throws RangeError when the text is not a quantity.
 */
export function quantityBytes(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([KMGTPE]i|[kMGTPE]?)$/.exec(text.trim());
  if (!match)
    throw new RangeError(`${JSON.stringify(text)} is not a quantity such as 4Gi or 512Mi`);
  const [, number = "", suffix = ""] = match;
  return Number(number) * (binary[suffix] ?? decimal[suffix] ?? 1);
}

/** The largest memory a VM can declare: the provider contract's maximum (MachineClass.memory_mib, 16 TiB). */
export const maxMemoryBytes = 16 * 2 ** 40;

/** The largest disk a VM can declare: the provider contract's maximum (DiskSpec.size_gib, 64 TiB). */
export const maxDiskBytes = 64 * 2 ** 40;

/**
 * A quantity in whole MiB, rounded up.
 *
 * @throws RangeError when the text is not a quantity.
 */
export function quantityMiB(text: string): number {
  return Math.ceil(quantityBytes(text) / 2 ** 20);
}

/**
 * A quantity in whole GiB, rounded up.
 *
 * @throws RangeError when the text is not a quantity.
 */
export function quantityGiB(text: string): number {
  return Math.ceil(quantityBytes(text) / 2 ** 30);
}

/**
 * Milliseconds in a duration: the SDK's syntax ("500ms", "30s", "2m",
 * "1h30m") plus days ("30d", "1d12h"), as retention policies write them.
 *
 * @throws RangeError when the text is not a duration.
 */
export function durationMs(text: string): number {
  const trimmed = text.trim();
  const days = /^(\d+)d(.*)$/.exec(trimmed);
  if (!days) return parseDuration(trimmed);
  const rest = days[2] ?? "";
  return Number(days[1]) * 86_400_000 + (rest ? parseDuration(rest) : 0);
}
