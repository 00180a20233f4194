// Brings up the test beds the console's browser tests use when their environment
// is missing (a run outside tools/test.sh): Debian's Chromium, and libvirt and
// the guest image for the consoles of a real guest.
import { ensureTestbed } from "../../../tools/testbed/jest-global-setup.js";

export default () => {
  ensureTestbed("chromium", "VIRTRIGAUD_CHROMIUM");
  ensureTestbed("libvirt", "VIRTRIGAUD_LIBVIRT_SSH_PORT");
  ensureTestbed("guest", "VIRTRIGAUD_GUEST_IMAGE");
};
