const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** A count of bytes as people read it: "512 B", "1.5 MiB", "20 GiB". */
export function formatBytes(bytes: bigint | number): string {
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, "")} ${units[unit] ?? "B"}`;
}
