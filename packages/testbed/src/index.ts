export { type GuestTestbed, guestTestbed } from "./guest-testbed.js";
export {
  type HostFlagOptions,
  type LibvirtTestbed,
  libvirtHostFlags,
  libvirtTestbed,
} from "./libvirt-testbed.js";
export { type FlaggedApp, appNodeFlags } from "./node-flags.js";
export { type LibvirtObjects, removeLibvirtObjects } from "./remove-libvirt-objects.js";
export { type PasswordGuest, guestUser, passwordGuestManifests } from "./guest-manifests.js";
export {
  type MedianInterval,
  type Spread,
  formatSpread,
  medianInterval95,
  spreadOf,
  spreadOfKnown,
} from "./spread.js";
export { TempDirs } from "./temp-dirs.js";
