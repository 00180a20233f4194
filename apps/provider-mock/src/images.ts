import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ChecksumAlgorithm, type ImageSource, ProviderError } from "@virtrigaud/contracts";
import type { MockContext } from "./mock-context.js";

/** The size of a VM's root disk made from an image, when the request gives none. */
export const imageSizeGib = 10;

/** Whether `name` is a template Create accepts: a built-in one or a prepared image. */
function knownTemplate(ctx: MockContext, name: string): boolean {
  return ctx.templates.has(name) || ctx.store.images.has(name);
}

/**
 * Describes an image ("template:debian-12", "path:/...", "url:...",
 * "imported:<import id>"), or ""
 * for none; `field` is where the image sits in the request.
 *
 * @throws ProviderError INVALID_SPEC when it cannot be used.
 */
export function resolveImage(
  ctx: MockContext,
  image: ImageSource | undefined,
  field: string,
): string {
  const source = image?.source;
  switch (source?.case) {
    case undefined:
      return "";
    case "template":
      if (!knownTemplate(ctx, source.value)) {
        throw ProviderError.invalidSpec(
          `${field}.template`,
          `no template named ${JSON.stringify(source.value)}`,
        );
      }
      return `template:${source.value}`;
    case "path":
      if (!source.value.startsWith("/") && !source.value.startsWith("[")) {
        throw ProviderError.invalidSpec(
          `${field}.path`,
          "must be an absolute path or a datastore path",
        );
      }
      return `path:${source.value}`;
    case "url":
      return `url:${source.value.url}`;
    case "importedDisk":
      adoptableImport(ctx, source.value, `${field}.imported_disk`);
      return `imported:${source.value}`;
  }
}

/**
 * Checks that an import can become a disk: committed, and not a disk of a
 * VM already; `field` is where it is named in the request.
 *
 * @throws ProviderError INVALID_SPEC when it cannot.
 */
function adoptableImport(ctx: MockContext, importId: string, field: string): void {
  const record = ctx.disks.imports.get(importId);
  if (!record) throw ProviderError.invalidSpec(field, `no import ${JSON.stringify(importId)}`);
  if (!record.committed) {
    throw ProviderError.invalidSpec(field, `import ${importId} is not committed yet`);
  }
  if (record.adoptedBy) {
    throw ProviderError.invalidSpec(
      field,
      `import ${importId} is a disk of vm ${record.adoptedBy}`,
    );
  }
}

/**
 * Reads a file:// image and checks its digest, as a real provider would
 * after a download; `field` is where the image sits in the request.
 *
 * @throws ProviderError INVALID_SPEC when the file cannot be read or its digest differs.
 */
export async function verifyFileImage(
  image: ImageSource | undefined,
  field: string,
  signal: AbortSignal,
): Promise<void> {
  if (image?.source.case !== "url" || !image.source.value.url.startsWith("file:")) return;
  const { url, checksum } = image.source.value;
  const data = await readFile(fileURLToPath(url), { signal }).catch((err: unknown) => {
    throw ProviderError.invalidSpec(`${field}.url.url`, `cannot read ${url}`, { cause: err });
  });
  const algorithm = checksum?.algorithm === ChecksumAlgorithm.SHA512 ? "sha512" : "sha256";
  const digest = createHash(algorithm).update(data).digest("hex");
  if (digest !== checksum?.value.toLowerCase()) {
    throw ProviderError.invalidSpec(
      `${field}.url.checksum.value`,
      `the ${algorithm} digest of ${url} is ${digest}`,
    );
  }
}
