import { codeFromHttpStatus, codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { ErrorReason } from "@virtrigaud/proto";
import { maxChunkBytes } from "../disks/chunks.js";
import { ProviderError } from "../errors/provider-error.js";
import { reasonOfCode } from "../errors/reason-codes.js";

/**
 * The wire form of a shared export (DiskShare in the contract): GET
 * {url}?offset=N&length=M with a bearer ticket, answered with one range
 * and its SHA-256 in headers. One range per request, as DiskExportRead
 * answers one chunk, so that a range is checked and written as one piece.
 */
export const rangeHeader = {
  offset: "virtrigaud-offset",
  length: "virtrigaud-length",
  sha256: "virtrigaud-sha256",
  zero: "virtrigaud-zero",
  errorReason: "virtrigaud-error-reason",
  errorField: "virtrigaud-error-field",
} as const;

/** The path of an export under a transfer listener. */
export const exportPathPrefix = "/v1/exports/";

/** The largest range one request reads: a DiskExportRead's. */
export const maxRangeBytes = maxChunkBytes;

/** A range asked for. */
export interface RangeAsked {
  exportId: string;
  offset: number;
  length: number;
}

/**
 * Reads the export and the range a request asks for.
 *
 * @throws ProviderError NOT_FOUND for a path that names no export,
 * INVALID_SPEC (naming `offset` or `length`) for a range that is not two
 * whole numbers, or longer than `maxRangeBytes`.
 */
export function parseRangeRequest(pathAndQuery: string): RangeAsked {
  const url = new URL(pathAndQuery, "http://transfer.invalid");
  if (!url.pathname.startsWith(exportPathPrefix)) throw ProviderError.notFound("no such path");
  const exportId = decodeURIComponent(url.pathname.slice(exportPathPrefix.length));
  if (!/^[\x21-\x7e]{1,256}$/.test(exportId)) throw ProviderError.notFound("no such export");
  const whole = (name: "offset" | "length", max: number): number => {
    const text = url.searchParams.get(name) ?? "";
    const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value > max)
      throw ProviderError.invalidSpec(name, `must be a whole number up to ${max}`);
    return value;
  };
  return {
    exportId,
    offset: whole("offset", Number.MAX_SAFE_INTEGER),
    length: whole("length", maxRangeBytes),
  };
}

/** The URL that reads `length` bytes at `offset` of the export at `exportUrl`. */
export function rangeUrl(exportUrl: string, offset: number, length: number): URL {
  const url = new URL(exportUrl);
  url.searchParams.set("offset", String(offset));
  url.searchParams.set("length", String(length));
  return url;
}

/** The HTTP status and headers of a refusal. */
export function refusalOf(error: ProviderError): {
  status: number;
  headers: Record<string, string>;
} {
  return {
    status: codeToHttpStatus(error.code),
    headers: {
      [rangeHeader.errorReason]: ErrorReason[error.reason],
      ...(error.field ? { [rangeHeader.errorField]: error.field } : {}),
    },
  };
}

/** The typed error a refusal stands for: by its reason header, else by its status. */
export function errorOfRefusal(
  status: number,
  header: (name: string) => string | undefined,
  message: string,
): ProviderError {
  const reasonName = header(rangeHeader.errorReason);
  const named = reasonName
    ? (ErrorReason as unknown as Record<string, number | undefined>)[reasonName]
    : undefined;
  const reason = named ?? reasonOfCode(codeFromHttpStatus(status));
  const field = header(rangeHeader.errorField);
  return new ProviderError(reason, `the source: ${message || `HTTP ${status}`}`, {
    ...(field ? { field } : {}),
  });
}
