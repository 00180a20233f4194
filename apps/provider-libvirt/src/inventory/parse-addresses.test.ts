import { describe, expect, it } from "@jest/globals";
import { parseDomifaddr, parseProcArp } from "./parse-addresses.js";

describe("address parsers", () => {
  it("reads guest agent addresses without loopback or link-local ones", () => {
    const output = ` Name       MAC address          Protocol     Address
-------------------------------------------------------------------------------
 lo         00:00:00:00:00:00    ipv4         127.0.0.1/8
 -          00:00:00:00:00:00    ipv6         ::1/128
 eth0       52:54:00:aa:00:01    ipv4         10.213.7.150/24
 -          52:54:00:aa:00:01    ipv6         fe80::5054:ff:feaa:1/64
 -          52:54:00:aa:00:01    ipv6         fd00::150/64
`;
    expect(parseDomifaddr(output)).toEqual([
      { mac: "52:54:00:aa:00:01", address: "10.213.7.150" },
      { mac: "52:54:00:aa:00:01", address: "fd00::150" },
    ]);
  });

  it("reads lease answers, which name the host's tap device", () => {
    const lease = ` Name       MAC address          Protocol     Address
-------------------------------------------------------------------------------
 vnet3      52:54:00:AA:00:02    ipv4         10.213.7.151/24
`;
    expect(parseDomifaddr(lease)).toEqual([{ mac: "52:54:00:aa:00:02", address: "10.213.7.151" }]);
  });

  it("reads complete and permanent entries of /proc/net/arp, not incomplete ones", () => {
    const output = `IP address       HW type     Flags       HW address            Mask     Device
10.213.7.150     0x1         0x2         52:54:00:AA:00:01     *        vrtgbr0
10.213.7.77      0x1         0x6         52:54:00:aa:00:03     *        vrtgbr1
10.213.7.151     0x1         0x0         00:00:00:00:00:00     *        vrtgbr0
`;
    expect(parseProcArp(output)).toEqual([
      { mac: "52:54:00:aa:00:01", address: "10.213.7.150" },
      { mac: "52:54:00:aa:00:03", address: "10.213.7.77" },
    ]);
  });
});
