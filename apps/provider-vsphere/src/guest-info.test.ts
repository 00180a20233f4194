import { describe, expect, it } from "@jest/globals";
import { IpSource } from "@virtrigaud/contracts";
import type { GuestNicInfo, PropertyValues } from "@virtrigaud/vsphere-sdk";
import { guestAddressesOf, guestFieldsOf } from "./guest-info.js";

const nicMac = "00:50:56:01:02:03";
const nic = (over: Partial<GuestNicInfo>): GuestNicInfo => ({
  _type: "GuestNicInfo",
  connected: true,
  deviceConfigId: 4000,
  macAddress: "00:50:56:01:02:03",
  ...over,
});
const on = (values: PropertyValues): PropertyValues => ({
  "runtime.powerState": "poweredOn",
  ...values,
});
const agent = (address: string, macAddress = nicMac) => ({
  address,
  source: IpSource.GUEST_AGENT,
  macAddress,
});

describe("guestAddressesOf", () => {
  it("reports each address VMware Tools give for a NIC once, with its MAC, leaving out link-local and loopback", () => {
    const values = on({
      "guest.net": [
        nic({
          macAddress: "00:50:56:01:02:03".toUpperCase(),
          ipAddress: ["10.0.0.5", "fe80::250:56ff:fe01:203", "2001:db8::5"],
          ipConfig: {
            _type: "NetIpConfigInfo",
            ipAddress: [
              { _type: "NetIpConfigInfoIpAddress", ipAddress: "10.0.0.5", prefixLength: 24 },
              { _type: "NetIpConfigInfoIpAddress", ipAddress: "169.254.3.4", prefixLength: 16 },
            ],
          },
        }),
      ],
      "guest.ipAddress": "10.0.0.5",
    });
    expect(guestAddressesOf(values, new Set([nicMac]))).toEqual([
      agent("10.0.0.5"),
      agent("2001:db8::5"),
    ]);
  });

  it("reports nothing for a VM that is off or suspended, whatever vCenter kept", () => {
    const kept = { "guest.net": [nic({ ipAddress: ["10.0.0.5"] })], "guest.ipAddress": "10.0.0.5" };
    for (const state of ["poweredOff", "suspended", undefined]) {
      expect(guestAddressesOf({ ...kept, "runtime.powerState": state }, new Set([nicMac]))).toEqual(
        [],
      );
    }
  });

  it("leaves out interfaces inside the guest, but keeps a guest bridge that took the NIC's MAC", () => {
    const values = on({
      "guest.net": [
        nic({ ipAddress: [] }),
        nic({ deviceConfigId: -1, macAddress: "02:42:ac:11:00:01", ipAddress: ["172.17.0.1"] }),
        nic({ deviceConfigId: -1, ipAddress: ["192.168.7.20"] }),
      ],
      // vCenter's primary address can be a container bridge's: it is not the VM's.
      "guest.ipAddress": "172.17.0.1",
    });
    expect(guestAddressesOf(values, new Set([nicMac]))).toEqual([agent("192.168.7.20")]);
  });

  it("falls back to guest.ipAddress, with no MAC, when guest.net does not list it", () => {
    expect(guestAddressesOf(on({ "guest.ipAddress": "10.9.8.7" }), new Set([nicMac]))).toEqual([
      agent("10.9.8.7", ""),
    ]);
    expect(guestAddressesOf(on({ "guest.ipAddress": "127.0.0.1" }), new Set())).toEqual([]);
  });
});

describe("guestFieldsOf", () => {
  it("gives the guest's hostname and whether Tools run, when vCenter knows them", () => {
    expect(
      guestFieldsOf({ "guest.hostName": "web-1", "guest.toolsRunningStatus": "guestToolsRunning" }),
    ).toEqual({ guestHostname: "web-1", toolsRunningStatus: "guestToolsRunning" });
    expect(guestFieldsOf({ "guest.hostName": "" })).toEqual({});
  });
});
