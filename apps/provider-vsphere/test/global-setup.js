// Brings the vcsim test bed up when its environment is missing (a run outside tools/test.sh).
import { ensureTestbed } from "../../../tools/testbed/jest-global-setup.js";
export default () => ensureTestbed("vcsim", "VIRTRIGAUD_VCSIM_URL");
