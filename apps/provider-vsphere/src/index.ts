export {
  createVsphereProvider,
  type VsphereProvider,
  type VsphereProviderOptions,
} from "./vsphere-provider.js";
export type { PlacementDefaults } from "./placement.js";
export { toProviderError } from "./errors.js";
export { vmPaths } from "./vm-properties.js";
export { vsphereFlags, vsphereFlagsHelp, vsphereOptionsFromFlags } from "./vsphere-flags.js";
