// Brings up the test bed the console's browser tests use when its environment
// is missing (a run outside tools/test.sh): Debian's Chromium.
import { ensureTestbed } from "../../../tools/testbed/jest-global-setup.js";

export default () => {
  ensureTestbed("chromium", "VIRTRIGAUD_CHROMIUM");
};
