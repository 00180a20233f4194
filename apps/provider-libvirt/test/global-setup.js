// Brings the libvirt test bed up when its environment is missing (a run outside tools/test.sh):
// the integration tests run against the real libvirtd and sshd, or fail saying why.
import { ensureTestbed } from "../../../tools/testbed/jest-global-setup.js";
export default () => ensureTestbed("libvirt", "VIRTRIGAUD_LIBVIRT_SSH_PORT");
