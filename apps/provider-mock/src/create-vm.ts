import { DiskType, Firmware, NetworkType, NicModel } from "@virtrigaud/contracts";
import { imageSizeGib, resolveImage, verifyFileImage } from "./images.js";
import { type MockOperation, existingAnswer, finishCreate, newVmRecord } from "./mock-context.js";

/**
 * Create: once per name. A VM of that name is the answer (with its create
 * task while that runs); otherwise the VM is recorded at once, being created,
 * and a task finishes it (reading and checking a file:// image first).
 *
 * @throws ProviderError INVALID_SPEC for an unknown template or a relative path.
 */
export const createVm: MockOperation<"create"> = (ctx, request, signal) =>
  ctx.creations.run(
    request.name,
    () => {
      const existing = ctx.store.byName(request.name);
      if (existing) return Promise.resolve(existingAnswer(existing));
      const image = resolveImage(ctx, request.image, "image");
      const rootGib = request.rootDiskSizeGib || (image ? imageSizeGib : 0);
      const vm = newVmRecord(ctx, request.name, {
        firmware: request.class?.firmware || Firmware.BIOS,
        config: {
          cpu: request.class?.cpu ?? 1,
          memoryMib: request.class?.memoryMib ?? 1024,
          disks: [
            ...(rootGib ? [{ name: "root", sizeGib: rootGib, type: DiskType.THIN }] : []),
            ...request.disks.map((d) => ({
              name: d.name,
              sizeGib: d.sizeGib,
              type: d.type || DiskType.THIN,
            })),
          ],
        },
        nics: request.networks.map((n) => ({
          network: n.network,
          type: n.type || NetworkType.VIRTUAL,
          model: n.model || NicModel.VIRTIO,
          macAddress: n.macAddress.toLowerCase() || ctx.newMac(),
          staticAddress: n.staticIp?.address ?? "",
        })),
        tags: [...request.tags],
        labels: { ...request.labels },
        image,
        ...(request.cloudInit
          ? {
              cloudInit: {
                userData: request.cloudInit.userData,
                metaData: request.cloudInit.metaData,
              },
            }
          : {}),
      });
      // The store keeps the task's id on the record, for repeats: nothing more to keep here.
      return Promise.resolve(
        finishCreate(ctx, vm, "create", request.powerOn, (s) =>
          verifyFileImage(request.image, "image", s),
        ),
      );
    },
    signal,
  );
