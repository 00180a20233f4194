import { runProvider } from "@virtrigaud/contracts";
import { vsphereFlags, vsphereFlagsHelp, vsphereOptionsFromFlags } from "./vsphere-flags.js";
import { createVsphereProvider } from "./vsphere-provider.js";

await runProvider({
  name: "virtrigaud-provider-vsphere",
  version: "0.1.0",
  description: "the VirtRigaud provider for VMware vSphere (vCenter)",
  flags: vsphereFlags,
  flagsHelp: vsphereFlagsHelp,
  async create({ values, logger }) {
    const provider = createVsphereProvider({ ...(await vsphereOptionsFromFlags(values)), logger });
    return { provider, close: () => provider.close() };
  },
});
