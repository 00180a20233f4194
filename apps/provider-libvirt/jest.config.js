import preset from "../../jest.preset.js";

export default {
  ...preset,
  displayName: "provider-libvirt",
  // Integration tests share one libvirtd; they run one file at a time.
  maxWorkers: 1,
  testTimeout: 120_000,
  globalSetup: "<rootDir>/test/global-setup.js",
};
