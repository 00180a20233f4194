import { DiskType, Firmware, type ImageSource, NetworkType, NicModel } from "@virtrigaud/contracts";
import { imageSizeGib, resolveImage, verifyFileImage } from "./images.js";
import { type MockOperation, existingAnswer, finishCreate, newVmRecord } from "./mock-context.js";

/** The import a disk adopts, when its source is one. */
function importedId(image: ImageSource | undefined): string | undefined {
  return image?.source.case === "importedDisk" ? image.source.value : undefined;
}

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
      request.disks.forEach((d, i) => resolveImage(ctx, d.source, `disks[${i}].source`));
      const rootImport = importedId(request.image);
      const rootGib = request.rootDiskSizeGib || (image ? imageSizeGib : 0);
      const vm = newVmRecord(ctx, request.name, {
        firmware: request.class?.firmware || Firmware.BIOS,
        config: {
          cpu: request.class?.cpu ?? 1,
          memoryMib: request.class?.memoryMib ?? 1024,
          disks: [
            ...(rootGib
              ? [
                  {
                    name: "root",
                    sizeGib: rootGib,
                    type: DiskType.THIN,
                    ...(rootImport ? { importId: rootImport } : {}),
                  },
                ]
              : []),
            ...request.disks.map((d) => {
              const adopted = importedId(d.source);
              return {
                name: d.name,
                sizeGib: d.sizeGib,
                type: d.type || DiskType.THIN,
                ...(adopted ? { importId: adopted } : {}),
              };
            }),
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
      // Adopted at once, so that no other Create takes the same import meanwhile.
      const adopted = vm.config.disks.flatMap((d) => (d.importId ? [d.importId] : []));
      const adopt = (vmId: string) => {
        for (const id of adopted) {
          const record = ctx.disks.imports.get(id);
          if (record) record.adoptedBy = vmId;
        }
      };
      adopt(vm.id);
      // The store keeps the task's id on the record, for repeats: nothing more to keep here.
      return Promise.resolve(
        finishCreate(
          ctx,
          vm,
          "create",
          request.powerOn,
          (s) => verifyFileImage(request.image, "image", s),
          () => adopt(""),
        ),
      );
    },
    signal,
  );
