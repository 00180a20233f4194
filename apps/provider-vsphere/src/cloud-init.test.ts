import { describe, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import {
  CloudInitSchema,
  ErrorReason,
  NetworkInterfaceSpecSchema,
  ProviderError,
} from "@virtrigaud/contracts";
import { parse } from "yaml";
import { cloudInitExtraConfig } from "./cloud-init.js";

const decode = (entries: Array<{ key: string; value: string }>, key: string) =>
  Buffer.from(entries.find((e) => e.key === key)?.value ?? "", "base64").toString("utf8");

describe("cloudInitExtraConfig", () => {
  it("writes user-data and meta-data base64-encoded, as cloud-init's VMware datasource reads them", () => {
    const entries = cloudInitExtraConfig(
      create(CloudInitSchema, {
        userData: "#cloud-config\nruncmd: [\"echo '<&>'\"]\n",
        metaData: "a: 1\n",
      }),
      [],
      [],
      "id-1",
      "web-1",
    );
    expect(entries.map((e) => e.key)).toEqual([
      "guestinfo.metadata",
      "guestinfo.metadata.encoding",
      "guestinfo.userdata",
      "guestinfo.userdata.encoding",
    ]);
    expect(entries.find((e) => e.key === "guestinfo.userdata.encoding")?.value).toBe("base64");
    expect(decode(entries, "guestinfo.userdata")).toBe("#cloud-config\nruncmd: [\"echo '<&>'\"]\n");
    expect(parse(decode(entries, "guestinfo.metadata"))).toEqual({
      a: 1,
      "instance-id": "id-1",
      "local-hostname": "web-1",
    });
  });

  it("keeps an instance-id the meta-data sets, and writes network config from static addresses", () => {
    const nic = create(NetworkInterfaceSpecSchema, {
      network: "VM Network",
      staticIp: {
        address: "192.0.2.10",
        prefixLength: 24,
        gateway: "192.0.2.1",
        dnsServers: ["192.0.2.53"],
      },
    });
    const entries = cloudInitExtraConfig(
      create(CloudInitSchema, { metaData: "instance-id: mine\n" }),
      [nic],
      ["00:50:56:00:00:01"],
      "id-1",
      "web-1",
    );
    const meta = parse(decode(entries, "guestinfo.metadata")) as Record<string, string>;
    expect(meta["instance-id"]).toBe("mine");
    expect(meta["network.encoding"]).toBe("base64");
    expect(parse(Buffer.from(meta["network"] ?? "", "base64").toString())).toEqual({
      version: 2,
      ethernets: {
        nic0: {
          match: { macaddress: "00:50:56:00:00:01" },
          "set-name": "eth0",
          addresses: ["192.0.2.10/24"],
          routes: [{ to: "default", via: "192.0.2.1" }],
          nameservers: { addresses: ["192.0.2.53"] },
        },
      },
    });
  });

  it("writes nothing without cloud-init or static addresses", () => {
    expect(cloudInitExtraConfig(undefined, [], [], "id", "h")).toEqual([]);
  });

  it("refuses meta-data that is not a YAML mapping, naming the field", () => {
    const error = (() => {
      try {
        cloudInitExtraConfig(
          create(CloudInitSchema, { metaData: "- a\n- b\n" }),
          [],
          [],
          "id",
          "h",
        );
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(ProviderError.is(error, ErrorReason.INVALID_SPEC)).toBe(true);
    expect((error as ProviderError).field).toBe("cloud_init.meta_data");
  });
});
