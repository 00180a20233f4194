import { runProvider } from "@virtrigaud/contracts";
import { libvirtFlags, libvirtFlagsHelp, libvirtOptionsFromFlags } from "./libvirt-flags.js";
import { createLibvirtProvider } from "./libvirt-provider.js";

await runProvider({
  name: "virtrigaud-provider-libvirt",
  version: "0.1.0",
  description: "the VirtRigaud provider for libvirt/KVM hosts, over SSH or a local libvirt URI",
  flags: libvirtFlags,
  flagsHelp: libvirtFlagsHelp,
  async create({ values, logger, meter }) {
    const provider = createLibvirtProvider({
      ...(await libvirtOptionsFromFlags(values, logger)),
      meter,
    });
    return { provider, close: () => provider.close() };
  },
});
