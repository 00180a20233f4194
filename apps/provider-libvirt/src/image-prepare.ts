import { ProviderError } from "@virtrigaud/contracts";
import { findImage, importImage, templateVolumeNames } from "./images.js";
import type { LibvirtOperation } from "./libvirt-context.js";
import { checkImageSource } from "./request-checks.js";

/**
 * ImagePrepare: a file on the host is used where it is; anything else is
 * imported into the pool as a template volume of the requested name, once
 * per name (a repeat answers with the image, and its task while that runs).
 *
 * @throws ProviderError INVALID_SPEC for a source that cannot be used.
 */
export const imagePrepare: LibvirtOperation<"imagePrepare"> = async (ctx, request, signal) => {
  if (request.source) checkImageSource("source", request.source);
  if (request.source?.source.case === "path") {
    // A file on the host needs no copy: it is checked, and used where it is.
    await findImage(ctx, request.source, "source", signal);
    return { image: { source: { case: "path", value: request.source.source.value } } };
  }
  const prepared = { source: { case: "template" as const, value: request.name } };
  const { task } = await ctx.preparations.run(
    request.name,
    async (keep) => {
      const volumes = new Set(await ctx.pool.volumes(signal));
      if (
        templateVolumeNames(request.name)
          .slice(0, 2)
          .some((n) => volumes.has(n))
      ) {
        return {};
      }
      const source = request.source;
      if (!source) throw ProviderError.invalidSpec("source", "is required");
      if (source.source.case === "template") {
        // Checked now, so an unknown template fails the call rather than the task.
        await findImage(ctx, source, "source", signal);
      }
      const release = keep();
      return {
        task: ctx.tasks.start(`prepare image ${request.name}`, async ({ signal: taskSignal }) => {
          try {
            await importImage(ctx, request.name, source, "source", taskSignal);
          } finally {
            release();
          }
        }),
      };
    },
    signal,
  );
  return { image: prepared, ...(task ? { task } : {}) };
};
