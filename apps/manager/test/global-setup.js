// Brings up the test beds the manager's end-to-end tests use when their
// environment is missing (a run outside tools/test.sh): vcsim for the trace
// test, libvirt (libvirtd behind sshd) for the libvirt end-to-end test.
import { ensureTestbed } from "../../../tools/testbed/jest-global-setup.js";

export default () => {
  ensureTestbed("vcsim", "VIRTRIGAUD_VCSIM_URL");
  ensureTestbed("libvirt", "VIRTRIGAUD_LIBVIRT_SSH_PORT");
};
