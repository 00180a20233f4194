// Brings up the test beds the manager's tests use when their environment is
// missing (a run outside tools/test.sh): vcsim for the trace test, libvirt
// (libvirtd behind sshd) for the libvirt end-to-end tests, the guest image for
// the real-guest one, and PostgreSQL for the PostgreSQL store's tests.
import { ensureTestbed } from "../../../tools/testbed/jest-global-setup.js";

export default () => {
  ensureTestbed("vcsim", "VIRTRIGAUD_VCSIM_URL");
  ensureTestbed("libvirt", "VIRTRIGAUD_LIBVIRT_SSH_PORT");
  // The Debian guest image (built once and cached) for the real-guest test.
  ensureTestbed("guest", "VIRTRIGAUD_GUEST_IMAGE");
  // A PostgreSQL 15 server of its own (test/postgres.ts makes a database per test).
  ensureTestbed("postgres", "VIRTRIGAUD_TEST_POSTGRES_URL");
};
