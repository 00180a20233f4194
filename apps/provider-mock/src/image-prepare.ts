import type { MessageInitShape } from "@bufbuild/protobuf";
import { type ImageSourceSchema, ProviderError } from "@virtrigaud/contracts";
import { resolveImage, verifyFileImage } from "./images.js";
import { type MockOperation, runTask } from "./mock-context.js";

/**
 * ImagePrepare: a path is used where it is; anything else becomes a template
 * of the requested name, once per name (a repeat answers with the image and
 * its task while that runs).
 *
 * @throws ProviderError CONFLICT when an image of that name was prepared from
 * another source; INVALID_SPEC as `resolveImage` does.
 */
export const imagePrepare: MockOperation<"imagePrepare"> = (ctx, request) => {
  const prepared: MessageInitShape<typeof ImageSourceSchema> = {
    source: { case: "template", value: request.name },
  };
  const source = resolveImage(ctx, request.source, "source");
  // A path needs no preparing: it is checked (above) and used where it is.
  if (request.source?.source.case === "path")
    return Promise.resolve({
      image: { source: { case: "path", value: request.source.source.value } },
    });
  const inFlight = ctx.preparing.get(request.name);
  const existing = ctx.store.images.get(request.name) ?? inFlight;
  if (existing) {
    if (existing.source !== source) {
      throw ProviderError.conflict(
        `image ${request.name} exists and was prepared from ${existing.source}`,
      );
    }
    return Promise.resolve({
      image: prepared,
      ...(inFlight ? { task: { id: inFlight.taskId } } : {}),
    });
  }
  const entry = { name: request.name, source, taskId: "" };
  ctx.preparing.set(request.name, entry);
  const task = runTask(
    ctx,
    "imagePrepare",
    `prepare image ${request.name}`,
    async (signal) => {
      await verifyFileImage(request.source, "source", signal);
      ctx.preparing.delete(request.name);
      ctx.store.images.set(request.name, { name: request.name, source });
    },
    () => ctx.preparing.delete(request.name),
  );
  entry.taskId = task.id;
  return Promise.resolve({ image: prepared, task });
};
