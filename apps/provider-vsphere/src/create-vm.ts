import { ProviderError, type ProviderRequest } from "@virtrigaud/contracts";
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

/**
 * Create: checks and resolves the request (template, disks, placement, NICs,
 * cloud-init) so a bad one fails the call, then answers at once with the VM's
 * id and a provider task that clones the template (or builds the VM from
 * scratch), customizes it and powers it on when asked.
 *
 * @throws ProviderError INVALID_SPEC naming the field at fault; UNSUPPORTED
 * for an image that is not a template; UNAVAILABLE when the provider's
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
  if (request.image && request.image.source.case !== "template") {
    throw ProviderError.unsupported("the vSphere provider makes VMs from templates only");
  }
  checkDiskNames(request);
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
      };
      return template ? fromTemplate(ctx, vm, template.ref) : fromScratch(ctx, vm);
    },
  );
};
