import { ProviderError } from "@virtrigaud/contracts";
import { cloneVM, waitForTask } from "@virtrigaud/vsphere-sdk";
import { placeVm } from "./creations.js";
import { vsphereTaskRef } from "./ids.js";
import type { VsphereOperation } from "./vsphere-context.js";

/**
 * ImagePrepare: copies a template into a new template of the requested name
 * (one vSphere task, one per name); a template of that name is the image
 * already. OVA/OVF import is not offered.
 *
 * @throws ProviderError UNSUPPORTED for a source that is not a template;
 * INVALID_SPEC at source.template for a template that does not exist.
 */
export const imagePrepare: VsphereOperation<"imagePrepare"> = async (ctx, request, signal) => {
  const { client } = ctx;
  if (request.source?.source.case !== "template") {
    throw ProviderError.unsupported("the vSphere provider prepares images from templates only");
  }
  const sourceName = request.source.source.value;
  const image = { source: { case: "template" as const, value: request.name } };
  const existing = await ctx.call(signal, () =>
    ctx.finder.findOptional("template", request.name, { signal }),
  );
  if (existing) return { image };
  const source = await ctx.call(signal, () =>
    ctx.finder.findOptional("template", sourceName, { signal }),
  );
  if (!source)
    throw ProviderError.invalidSpec(
      "source.template",
      `no template named ${JSON.stringify(sourceName)}`,
    );
  const placement = await placeVm(ctx, request.placement, signal);
  const made = await ctx.creations.run(
    request.name,
    async (keep) => {
      const copy = await ctx.call(signal, () =>
        cloneVM(
          client,
          source.ref,
          placement.folder,
          request.name,
          {
            location: {
              pool: placement.pool,
              ...(placement.datastore ? { datastore: placement.datastore.ref } : {}),
            },
            template: true,
            powerOn: false,
          },
          { signal },
        ),
      );
      // Forget the copy once it is done, so a later call finds the template itself.
      const release = keep();
      void waitForTask(client, copy)
        .catch(() => {})
        .finally(release);
      return { vmId: "", task: vsphereTaskRef(copy) };
    },
    signal,
  );
  return { image, ...(made.task ? { task: made.task } : {}) };
};
