import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { parse } from "yaml";
import { buildMetaData, buildNetworkConfig, buildSeedDocuments } from "./seed-documents.js";

/** What `fn` throws, or undefined. */
function catching(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e;
  }
}

const hostile = [
  "web-1",
  "a: b",
  "- item",
  "'quoted'",
  '"double"',
  "#not a comment",
  "multi\nline: injected",
  "]]>&<x>",
  "ünïcødé 雪 🚀",
  "*anchor",
  "{flow: map}",
];

describe("buildMetaData", () => {
  it("adds instance-id and local-hostname and keeps the user's keys", () => {
    const doc: unknown = parse(
      buildMetaData("public-keys:\n  - ssh-ed25519 AAA\nzone: a\n", "uuid-1", "web-1"),
    );
    expect(doc).toEqual({
      "instance-id": "uuid-1",
      "local-hostname": "web-1",
      "public-keys": ["ssh-ed25519 AAA"],
      zone: "a",
    });
  });

  it("lets the user's own instance-id and hostname win", () => {
    const doc: unknown = parse(
      buildMetaData("instance-id: pinned\nlocal-hostname: custom\n", "uuid-1", "web-1"),
    );
    expect(doc).toMatchObject({ "instance-id": "pinned", "local-hostname": "custom" });
  });

  it.each(hostile)("keeps the hostile hostname %j a plain string", (name) => {
    const doc = parse(buildMetaData("", name, name)) as Record<string, unknown>;
    expect(doc).toEqual({ "instance-id": name, "local-hostname": name });
  });

  it("refuses meta-data that is not a YAML mapping, naming the field", () => {
    for (const bad of ["- a list", "key: [unclosed", "just text"]) {
      const error = catching(() => buildMetaData(bad, "i", "h"));
      expect(ProviderError.is(error, ErrorReason.INVALID_SPEC)).toBe(true);
      expect((error as ProviderError).field).toBe("cloud_init.meta_data");
    }
  });
});

describe("buildNetworkConfig", () => {
  it("writes static addresses by MAC and DHCP for the other NICs", () => {
    const config = buildNetworkConfig([
      {
        mac: "52:54:00:AA:00:01",
        staticIp: {
          mac: "52:54:00:aa:00:01",
          address: "10.0.0.5",
          prefixLength: 24,
          gateway: "10.0.0.1",
          dnsServers: ["10.0.0.53"],
        },
      },
      { mac: "52:54:00:aa:00:02", staticIp: undefined },
    ]);
    expect(parse(config ?? "")).toEqual({
      version: 2,
      ethernets: {
        nic0: {
          match: { macaddress: "52:54:00:aa:00:01" },
          "set-name": "eth0",
          dhcp4: false,
          addresses: ["10.0.0.5/24"],
          routes: [{ to: "0.0.0.0/0", via: "10.0.0.1" }],
          nameservers: { addresses: ["10.0.0.53"] },
        },
        nic1: { match: { macaddress: "52:54:00:aa:00:02" }, "set-name": "eth1", dhcp4: true },
      },
    });
  });

  it("writes nothing when every NIC uses DHCP", () => {
    expect(buildNetworkConfig([{ mac: "52:54:00:aa:00:02", staticIp: undefined }])).toBeUndefined();
  });
});

describe("buildSeedDocuments", () => {
  const base = {
    userData: "",
    metaData: "",
    networkConfig: "",
    instanceId: "id",
    hostname: "h",
    nics: [],
  };

  it("passes user-data through as written", () => {
    const userData = "#cloud-config\nruncmd:\n  - echo ']]> & <x>' > /tmp/x\n";
    expect(buildSeedDocuments({ ...base, userData })["user-data"]).toBe(userData);
    expect(buildSeedDocuments(base)["user-data"]).toBe("#cloud-config\n");
  });

  it("prefers the user's network-config and refuses one that is not a mapping", () => {
    const networkConfig = "version: 2\nethernets: {}\n";
    expect(buildSeedDocuments({ ...base, networkConfig })["network-config"]).toBe(networkConfig);
    const error = catching(() => buildSeedDocuments({ ...base, networkConfig: "- no" }));
    expect((error as ProviderError).field).toBe("cloud_init.network_config");
  });
});
