import { ProviderError, type ProviderRequest } from "@virtrigaud/contracts";
import { retrieveOne, reconfigureVM } from "@virtrigaud/vsphere-sdk";
import {
  type AdoptedDisk,
  type AdoptedDisks,
  adoptedGrowth,
  detachSpec,
  findAdoptable,
  growthSpec,
  markAdopted,
} from "./adopted-disks.js";
import { cloudInitExtraConfig } from "./cloud-init.js";
import { placeVm, startBuild } from "./creations.js";
import { fromScratch } from "./from-scratch.js";
import { fromTemplate } from "./from-template.js";
import { type NewVm, computeOf } from "./new-vm.js";
import { resolveNic } from "./nic-backing.js";
import { manualMac } from "./nics.js";
import type { VsphereOperation } from "./vsphere-context.js";

/** Fails the call when two of the request's disks share a name (or one is named "root"). */
function checkDiskNames(request: ProviderRequest<"create">): void {
  const names = new Set(["root"]);
  request.disks.forEach((d, i) => {
    if (names.has(d.name))
      throw ProviderError.invalidSpec(
        `disks[${i}].name`,
        `a disk named ${d.name} is there already`,
      );
    names.add(d.name);
  });
}

/** The imported disks a request names: as the root disk (its image) and as data disks (their source). */
async function adoptedDisks(
  request: ProviderRequest<"create">,
  signal: AbortSignal,
  find: (importId: string, field: string) => Promise<AdoptedDisk>,
): Promise<AdoptedDisks> {
  const image = request.image?.source;
  const root =
    image?.case === "importedDisk" ? await find(image.value, "image.imported_disk") : undefined;
  const disks: Array<AdoptedDisk | undefined> = [];
  for (const [i, d] of request.disks.entries()) {
    const source = d.source?.source;
    if (source?.case && source.case !== "importedDisk") {
      throw ProviderError.unsupported(
        `disks[${i}].source: data disks are new or imported disks only`,
      );
    }
    disks.push(
      source?.case === "importedDisk"
        ? await find(source.value, `disks[${i}].source.imported_disk`)
        : undefined,
    );
  }
  signal.throwIfAborted();
  return { root, disks };
}

/**
 * Create: checks and resolves the request (template, disks, placement, NICs,
 * cloud-init) so a bad one fails the call, then answers at once with the VM's
 * id and a provider task that clones the template (or builds the VM from
 * scratch), customizes it and powers it on when asked.
 *
 * An imported disk (image.imported_disk, or a data disk's source) is attached
 * as it is, without a copy, to a VM made from scratch; the VM owns it from then
 * on, and Delete removes it with the VM.
 *
 * @throws ProviderError INVALID_SPEC naming the field at fault (an import that
 * is not there or not committed); CONFLICT for an import another VM adopted;
 * UNSUPPORTED for an image that is not a template or an imported disk; UNAVAILABLE when the provider's
 * default placement names nothing.
 */
export const createVm: VsphereOperation<"create"> = async (ctx, request, signal) => {
  const template =
    request.image?.source.case === "template"
      ? await ctx.call(signal, () =>
          ctx.finder.findOptional("template", request.image?.source.value as string, { signal }),
        )
      : undefined;
  if (request.image?.source.case === "template" && !template) {
    throw ProviderError.invalidSpec(
      "image.template",
      `no template named ${JSON.stringify(request.image.source.value)}`,
    );
  }
  const image = request.image?.source;
  if (image?.case && image.case !== "template" && image.case !== "importedDisk") {
    throw ProviderError.unsupported(
      "the vSphere provider makes VMs from templates or imported disks only",
    );
  }
  checkDiskNames(request);
  const adopted = await adoptedDisks(request, signal, (id, field) =>
    findAdoptable(ctx, id, field, request.name, signal),
  );
  if (template && adopted.disks.some(Boolean)) {
    throw ProviderError.unsupported(
      "imported data disks go with an imported root disk or none, not a template",
    );
  }
  const placement = await placeVm(ctx, request.placement, signal);
  const nics = await Promise.all(request.networks.map((n, i) => resolveNic(ctx, n, i, signal)));
  const random = Math.random;
  const macs = request.networks.map((n) =>
    n.macAddress ? n.macAddress.toLowerCase() : n.staticIp ? manualMac(random) : "",
  );
  // Checked now, so a bad document fails the call rather than the task.
  cloudInitExtraConfig(request.cloudInit, request.networks, macs, "check", request.name);
  const compute = computeOf(request.class);

  return startBuild(
    ctx,
    { name: request.name, folder: placement.folder, powerOn: request.powerOn, powerOnFrom: 85 },
    signal,
    (vmId) => {
      const vm: NewVm = {
        request,
        vmId,
        placement,
        nics,
        macs,
        compute,
        guestinfo: cloudInitExtraConfig(
          request.cloudInit,
          request.networks,
          macs,
          vmId,
          request.name,
        ),
        adopted,
      };
      if (template) return fromTemplate(ctx, vm, template.ref);
      // fromTemplate's disks are new ones: imported data disks go with VMs made from scratch.
      const build = fromScratch(ctx, vm);
      const importIds = [adopted.root, ...adopted.disks].flatMap((d) => (d ? [d.importId] : []));
      if (importIds.length === 0) return build;
      const growth = adoptedGrowth(request, adopted);
      return {
        ...build,
        async make(s, progress) {
          // The VM owns the disks from now on: DiskImportAbort leaves them.
          for (const id of importIds) await markAdopted(ctx, id, vmId);
          return build.make(s, progress);
        },
        async release(made, s) {
          // A failed Create removes its VM: the imports go back to being nobody's, files kept.
          const values = await ctx.call(s, () =>
            retrieveOne(ctx.client, made, ["config.hardware.device", "config.extraConfig"], {
              signal: s,
            }),
          );
          const deviceChange = detachSpec(values);
          if (deviceChange.length > 0) {
            await ctx.step(s, () =>
              reconfigureVM(ctx.client, made, { deviceChange }, { signal: s }),
            );
          }
          for (const id of importIds) await markAdopted(ctx, id, undefined);
        },
        async finish(made, s, progress) {
          if (growth.size === 0) return;
          // Attached at their own size, then grown to the size asked, as a disk grows in Reconfigure.
          const values = await ctx.call(s, () =>
            retrieveOne(ctx.client, made, ["config.hardware.device", "config.extraConfig"], {
              signal: s,
            }),
          );
          const deviceChange = growthSpec(values, growth);
          await ctx.step(
            s,
            () => reconfigureVM(ctx.client, made, { deviceChange }, { signal: s }),
            {
              report: progress,
              from: 85,
              to: 90,
            },
          );
        },
      };
    },
  );
};
