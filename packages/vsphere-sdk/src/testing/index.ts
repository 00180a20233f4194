/**
 * Test helpers for code that talks to vCenter, against vcsim (tools/vcsim,
 * govmomi's vCenter simulator with a main of this project's):
 *
 * - `vcsimFromEnv`, `vcsimClient`, `vcsimStats` use the shared test bed
 *   (tools/testbed/vcsim) through its `VIRTRIGAUD_VCSIM_*` environment;
 * - `startVcsim` starts a vcsim of the caller's own, for a benchmark or a test
 *   that needs an inventory of its own.
 *
 * @packageDocumentation
 */
export {
  vcsimFromEnv,
  vcsimClient,
  vcsimStats,
  uniqueName,
  type VcsimEndpoint,
  type VcsimStatsOptions,
  type VcsimTestbed,
} from "./vcsim-endpoint.js";
export { startVcsim, type StartVcsimOptions, type Vcsim } from "./start-vcsim.js";
