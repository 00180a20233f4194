import { describe, expect, it } from "@jest/globals";
import { parseDomstats } from "./parse-domstats.js";

const output = `Domain: 'a'
  state.state=1
  state.reason=1
  vcpu.current=2
  vcpu.maximum=4
  vcpu.0.time=120000
  balloon.current=98304
  balloon.maximum=131072
  block.count=2
  block.0.name=vda
  block.0.path=/p/a-root.qcow2
  block.0.rd.bytes=5120
  block.0.capacity=1073741824
  block.1.name=sda
  block.1.path=/p/a-cidata.iso
  block.1.capacity=374784

Domain: 'b'
  state.state=5
  block.count=0
`;

describe("parseDomstats", () => {
  it("reads state, vcpus and block capacities per domain", () => {
    expect(parseDomstats(output)).toEqual([
      {
        name: "a",
        state: 1,
        vcpus: 2,
        blocks: {
          vda: { path: "/p/a-root.qcow2", capacityBytes: 1073741824 },
          sda: { path: "/p/a-cidata.iso", capacityBytes: 374784 },
        },
        fingerprint: expect.any(String),
      },
      { name: "b", state: 5, vcpus: undefined, blocks: {}, fingerprint: expect.any(String) },
    ]);
  });

  const fingerprint = (text: string) => parseDomstats(text)[0]?.fingerprint;

  it("keeps the fingerprint when only counters moved (CPU time, bytes read)", () => {
    const moved = output
      .replace("vcpu.0.time=120000", "vcpu.0.time=990000")
      .replace("block.0.rd.bytes=5120", "block.0.rd.bytes=9999");
    expect(fingerprint(moved)).toBe(fingerprint(output));
  });

  it.each([
    ["the state", "state.state=1", "state.state=3"],
    ["the CPUs", "vcpu.current=2", "vcpu.current=3"],
    ["the most CPUs", "vcpu.maximum=4", "vcpu.maximum=8"],
    ["the memory", "balloon.current=98304", "balloon.current=65536"],
    ["the most memory", "balloon.maximum=131072", "balloon.maximum=262144"],
    ["a disk's file", "block.0.path=/p/a-root.qcow2", "block.0.path=/p/other.qcow2"],
    ["a disk's target", "block.1.name=sda", "block.1.name=sdb"],
  ])("changes the fingerprint when %s changed", (_, before, after) => {
    expect(fingerprint(output.replace(before, after))).not.toBe(fingerprint(output));
  });
});
