const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as "500ms", "30s", "2m", "1h30m" or a bare number
 * of milliseconds.
 *
 * @throws RangeError when the text is not a duration.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== trimmed) {
    throw new RangeError(`${JSON.stringify(text)} is not a duration such as 500ms, 30s or 2m`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? "ms"] ?? 1), 0);
}
