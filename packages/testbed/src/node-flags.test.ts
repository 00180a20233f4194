import { describe, expect, it } from "@jest/globals";
import { appNodeFlags } from "./node-flags.js";

describe("appNodeFlags", () => {
  it("reads each app's flags from its package.json, as node takes them", () => {
    for (const app of ["manager", "provider-libvirt", "provider-vsphere"] as const) {
      const flags = appNodeFlags(app);
      expect(flags.length).toBeGreaterThan(0);
      for (const flag of flags) expect(flag).toMatch(/^--[a-z0-9-]+(=\S+)?$/);
    }
  });
});
