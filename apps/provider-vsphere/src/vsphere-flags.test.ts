import { describe, expect, it } from "@jest/globals";
import { ServeConfigError } from "@virtrigaud/contracts";
import { vsphereOptionsFromFlags } from "./vsphere-flags.js";

const url = { "vcenter-url": "https://127.0.0.1:9/sdk" };

describe("vSphere credentials at start-up", () => {
  it("starts without any, awaiting the manager's SetCredentials", async () => {
    const options = await vsphereOptionsFromFlags(url, {});
    try {
      expect(options.credentials?.fixed).toBe(false);
      expect(() => options.credentials?.username()).toThrow(/no vCenter credentials yet/);
    } finally {
      await options.client.close();
    }
  });

  it("keeps those of the environment, which win over the manager's", async () => {
    const options = await vsphereOptionsFromFlags(url, {
      VSPHERE_USERNAME: "op",
      VSPHERE_PASSWORD: "pw",
    });
    try {
      expect(options.credentials?.fixed).toBe(true);
      expect(options.credentials?.username()).toBe("op");
    } finally {
      await options.client.close();
    }
  });

  it("refuses half of them", async () => {
    await expect(vsphereOptionsFromFlags(url, { VSPHERE_USERNAME: "op" })).rejects.toThrow(
      new ServeConfigError(
        "vCenter credentials need both a username and a password: the password is missing from --credentials-dir or VSPHERE_PASSWORD",
      ),
    );
  });
});

describe("the disk staging directory", () => {
  it("comes from --disk-staging-dir, else VSPHERE_DISK_STAGING_DIR, else the default", async () => {
    const cases: Array<[Record<string, string>, Record<string, string>, string | undefined]> = [
      [{ "disk-staging-dir": "/flag" }, { VSPHERE_DISK_STAGING_DIR: "/env" }, "/flag"],
      [{}, { VSPHERE_DISK_STAGING_DIR: "/env" }, "/env"],
      [{}, {}, undefined],
    ];
    for (const [flags, env, expected] of cases) {
      const options = await vsphereOptionsFromFlags({ ...url, ...flags }, env);
      try {
        expect(options.diskStagingDir).toBe(expected);
      } finally {
        await options.client.close();
      }
    }
  });
});
