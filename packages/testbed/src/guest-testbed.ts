import { requiredFrom, testbedEnv } from "./bring-up.js";
import { type LibvirtTestbed, libvirtTestbedFrom } from "./libvirt-testbed.js";

/** The libvirt test bed with the project's guest image (tools/guest-image). */
export interface GuestTestbed extends LibvirtTestbed {
  /** The cached Debian guest image. */
  image: string;
}

/**
 * The libvirt and guest test beds: from the environment when it is set, else
 * brought up with tools/testbed/up.sh libvirt guest (the guest bed builds the
 * image the first time, which takes minutes).
 *
 * @throws Error when a test bed cannot start.
 */
export function guestTestbed(): GuestTestbed {
  const env = testbedEnv(["libvirt", "guest"], (e) =>
    Boolean(e["VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT"] && e["VIRTRIGAUD_GUEST_IMAGE"]),
  );
  const get = requiredFrom(env);
  return { ...libvirtTestbedFrom(get), image: get("VIRTRIGAUD_GUEST_IMAGE") };
}
