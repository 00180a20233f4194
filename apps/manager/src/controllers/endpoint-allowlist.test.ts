import { describe, expect, it } from "@jest/globals";
import {
  judgeEndpointHost,
  judgeResolvedAddresses,
  parseEndpointAllowlist,
} from "./endpoint-allowlist.js";

const list = parseEndpointAllowlist(
  "provider.example.com, *.prov.example.net, 10.20.0.0/16, 192.168.1.7, fd00:1::/32, [::1]",
);

describe("parseEndpointAllowlist", () => {
  it.each([
    ["", /names no host, pattern or network/],
    [" , ", /names no host, pattern or network/],
    ["10.0.0.0/33", /"10.0.0.0\/33" is no host name/],
    ["fd00::/129", /"fd00::\/129" is no host name/],
    ["10.0.0.0/x", /is no host name/],
    ["host/24", /"host\/24" is no host name/],
    ["*.", /"\*\." is no host name/],
    ["a.*.example.com", /is no host name/],
    ["under_score.example.com", /is no host name/],
    ["http://h:1", /is no host name/],
  ])("refuses %j", (text, message) => {
    expect(() => parseEndpointAllowlist(text)).toThrow(message);
  });
});

describe("judgeEndpointHost", () => {
  it.each([
    "provider.example.com",
    "PROVIDER.example.com",
    "provider.example.com.",
    "a.prov.example.net",
    "b.a.prov.example.net",
    "10.20.3.4",
    "192.168.1.7",
    "[fd00:1::5]",
    "fd00:1:ffff::1",
    "::1",
    "::ffff:10.20.0.1",
  ])("allows %s", (host) => {
    expect(judgeEndpointHost(list, host)).toBeUndefined();
  });

  const notListed = (host: string) =>
    `the host ${host} is not listed by --provider-endpoints (${list.text})`;
  const noNetwork = (address: string) =>
    `the address ${address} is in no network of --provider-endpoints (${list.text})`;
  it.each([
    ["other.example.com", notListed("other.example.com")],
    ["prov.example.net", notListed("prov.example.net")], // the pattern wants a subdomain
    ["evilprov.example.net", notListed("evilprov.example.net")],
    ["provider.example.com.evil.org", notListed("provider.example.com.evil.org")],
    ["10.21.0.1", noNetwork("10.21.0.1")],
    ["192.168.1.8", noNetwork("192.168.1.8")],
    ["169.254.169.254", noNetwork("169.254.169.254")],
    ["[fd00:2::1]", noNetwork("fd00:2::1")],
    ["127.0.0.1", noNetwork("127.0.0.1")],
  ])("refuses %s", (host, message) => {
    expect(judgeEndpointHost(list, host)).toBe(message);
  });
});

describe("judgeResolvedAddresses", () => {
  it("allows a name whose every address is in a listed network", () => {
    expect(
      judgeResolvedAddresses(list, "provider.example.com", ["10.20.1.1", "fd00:1::2"]),
    ).toBeUndefined();
  });

  it("refuses a name with one address outside, naming it", () => {
    expect(
      judgeResolvedAddresses(list, "provider.example.com", ["10.20.1.1", "169.254.169.254"]),
    ).toBe(
      `the host provider.example.com resolves to 169.254.169.254, in no network of --provider-endpoints (${list.text})`,
    );
  });

  it("refuses a name that resolves to nothing", () => {
    expect(judgeResolvedAddresses(list, "provider.example.com", [])).toMatch(
      /resolves to no address/,
    );
  });

  it("trusts DNS for the names of a list that names no network", () => {
    const names = parseEndpointAllowlist("provider.example.com");
    expect(
      judgeResolvedAddresses(names, "provider.example.com", ["169.254.169.254"]),
    ).toBeUndefined();
  });
});
