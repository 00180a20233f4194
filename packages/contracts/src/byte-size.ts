const units: Record<string, number> = { "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

/**
 * Parses a size in bytes: a whole number, or one with a binary suffix such
 * as "512Ki", "4Mi" or "1Gi" (the suffixes of Kubernetes quantities).
 *
 * @throws RangeError when the text is not such a size.
 */
export function parseByteSize(text: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(text.trim());
  const bytes = match ? Number(match[1]) * (units[match[2] ?? ""] ?? 1) : NaN;
  if (!Number.isSafeInteger(bytes))
    throw new RangeError(`${JSON.stringify(text)} is not a size such as 4194304, 512Ki or 4Mi`);
  return bytes;
}
