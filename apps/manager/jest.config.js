import preset from "../../jest.preset.js";

export default {
  ...preset,
  displayName: "manager",
  // Brings the test beds (vcsim, libvirt, guest, postgres) up when their environment is missing.
  globalSetup: "<rootDir>/test/global-setup.js",
};
