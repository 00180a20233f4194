import preset from "../../jest.preset.js";

export default {
  ...preset,
  displayName: "provider-vsphere",
  // Brings the vcsim test bed up when its environment is missing.
  globalSetup: "<rootDir>/test/global-setup.js",
  testTimeout: 120_000,
};
