import preset from "../../jest.preset.js";

export default {
  ...preset,
  displayName: "manager",
  // Brings the test beds (vcsim) up when their environment is missing.
  globalSetup: "<rootDir>/test/global-setup.js",
};
