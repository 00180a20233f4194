import preset from "../../jest.preset.js";

export default {
  ...preset,
  displayName: "console",
  // Brings the chromium test bed up (Debian's Chromium) when its environment is missing.
  globalSetup: "<rootDir>/test/global-setup.js",
  // A browser, a manager and a provider per test file: one at a time.
  testTimeout: 120_000,
  maxWorkers: 1,
};
