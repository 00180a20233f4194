import type { VsphereOperation } from "./vsphere-context.js";

/**
 * Validate: logs in (the first call does), checks the session with a
 * CurrentTime call and finds the datacenter.
 *
 * @throws ProviderError as `toProviderError` maps vCenter's failures:
 * UNAUTHENTICATED for credentials it refuses, UNAVAILABLE when it cannot be
 * reached.
 */
export const validateConnection: VsphereOperation<"validate"> = async (ctx, _request, signal) => {
  const { client } = ctx;
  const content = await ctx.call(signal, () => client.serviceContent({ signal }));
  await ctx.call(signal, () =>
    client.call(
      "CurrentTime",
      { type: "ServiceInstance", value: "ServiceInstance" },
      {},
      { signal },
    ),
  );
  const dc = await ctx.call(signal, () => ctx.finder.datacenter({ signal }));
  return { message: `${content.about.fullName} at ${client.url.host}, datacenter ${dc.path}` };
};
