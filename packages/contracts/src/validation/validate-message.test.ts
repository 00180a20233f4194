import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import {
  ChecksumAlgorithm,
  type Firmware,
  CreateRequestSchema,
  ImagePrepareRequestSchema,
  ListVMsRequestSchema,
  PowerOperation,
  PowerRequestSchema,
  ReconfigureRequestSchema,
} from "@virtrigaud/proto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ProviderError } from "../errors/provider-error.js";
import { findViolation, validateMessage } from "./validate-message.js";

type CreateInit = MessageInitShape<typeof CreateRequestSchema>;
const base: CreateInit = { name: "web-1", class: { cpu: 2, memoryMib: 2048 } };
const violation = (init: CreateInit) =>
  findViolation(CreateRequestSchema, create(CreateRequestSchema, init));

describe("names", () => {
  it.each(["a", "web-1", "db.prod_01", "A1", "x".repeat(63)])("accepts %s", (name) => {
    expect(violation({ ...base, name })).toBeUndefined();
  });

  it.each([
    "x".repeat(64),
    "x".repeat(10_000),
    "-leading",
    "trailing-",
    "semi;colon",
    "sub$(shell)",
    "back`tick`",
    "quote'd",
    'double"quote',
    "angle<b>",
    "amp&ersand",
    "new\nline",
    "spa ce",
    "ünïcödé",
    "emoji😀",
    "slash/name",
    "../etc",
  ])("rejects %j naming the field", (name) => {
    expect(violation({ ...base, name })).toMatchObject({
      field: "name",
      message: expect.stringMatching(/letters, digits/),
    });
  });

  it("quotes a hostile name in the message without raw control characters", () => {
    expect(violation({ ...base, name: "a\nb" })?.message).toContain('"a\\nb"');
  });
});

describe("numbers, enums and nesting", () => {
  it.each<[CreateInit, string, RegExp]>([
    [{ ...base, class: { cpu: 0, memoryMib: 1 } }, "class.cpu", /greater than 0/],
    [{ ...base, class: { cpu: 2000, memoryMib: 1 } }, "class.cpu", /at most 1024, got 2000/],
    [
      { ...base, class: { cpu: 1, memoryMib: 1, firmware: 9 as Firmware } },
      "class.firmware",
      /one of FIRMWARE_BIOS, FIRMWARE_UEFI, got 9/,
    ],
    [
      {
        ...base,
        disks: [
          { name: "a", sizeGib: 1 },
          { name: "b", sizeGib: 0 },
        ],
      },
      "disks[1].size_gib",
      /greater than 0/,
    ],
    [{ ...base, disks: [{ name: "a", sizeGib: 70_000 }] }, "disks[0].size_gib", /at most 65536/],
    [
      { ...base, disks: Array.from({ length: 17 }, (_, i) => ({ name: `d${i}`, sizeGib: 1 })) },
      "disks",
      /at most 16 items/,
    ],
    [{ ...base, networks: [{ network: "" }] }, "networks[0].network", /must not be empty/],
    [
      {
        ...base,
        networks: [{ network: "n", staticIp: { address: "10.0.0.300", prefixLength: 24 } }],
      },
      "networks[0].static_ip.address",
      /IPv4 or IPv6/,
    ],
    [
      {
        ...base,
        networks: [{ network: "n", staticIp: { address: "10.0.0.3", prefixLength: 33 } }],
      },
      "networks[0].static_ip.prefix_length",
      /at most 32/,
    ],
    [
      {
        ...base,
        networks: [
          { network: "n", staticIp: { address: "10.0.0.3", prefixLength: 24, gateway: "fe80::1" } },
        ],
      },
      "networks[0].static_ip.gateway",
      /same IP version/,
    ],
    [
      {
        ...base,
        networks: [
          {
            network: "n",
            staticIp: { address: "10.0.0.3", prefixLength: 24, dnsServers: ["1.1.1.1", "dns"] },
          },
        ],
      },
      "networks[0].static_ip.dns_servers[1]",
      /IPv4 or IPv6/,
    ],
    [
      { ...base, image: { source: { case: undefined } } },
      "image.source",
      /one of template, path, url, imported_disk must be set/,
    ],
    [
      {
        ...base,
        image: {
          source: {
            case: "url",
            value: { url: "ftp://x/y", checksum: { algorithm: 1, value: "ab" } },
          },
        },
      },
      "image.url.url",
      /http, https or file URL/,
    ],
    [
      { ...base, image: { source: { case: "url", value: { url: "https://x/y.img" } } } },
      "image.url.checksum",
      /required/,
    ],
    [
      {
        ...base,
        image: {
          source: {
            case: "url",
            value: {
              url: "https://x/y.img",
              checksum: { algorithm: ChecksumAlgorithm.SHA256, value: "abc" },
            },
          },
        },
      },
      "image.url.checksum.value",
      /64 hex digits/,
    ],
    [
      {
        ...base,
        image: {
          source: {
            case: "url",
            value: {
              url: "https://x/y.img",
              checksum: { algorithm: ChecksumAlgorithm.SHA256, value: "zz".repeat(32) },
            },
          },
        },
      },
      "image.url.checksum.value",
      /hexadecimal/,
    ],
    [{ ...base, disks: [{ name: "root", sizeGib: 1 }] }, "disks[0].name", /boot disk/],
    [
      {
        ...base,
        disks: [
          { name: "a", sizeGib: 1 },
          { name: "a", sizeGib: 2 },
        ],
      },
      "disks[1].name",
      /repeats the name "a"/,
    ],
    [{ ...base, labels: { "": "x" } }, 'labels[""]', /label keys/],
    [{ ...base, labels: { app: "line\nbreak" } }, 'labels["app"]', /label values/],
    [{ ...base, tags: ["t".repeat(300)] }, "tags[0]", /at most 256 characters/],
  ])("rejects %# at %s", (init: CreateInit, field: string, message: RegExp) => {
    expect(violation(init)).toMatchObject({ field, message: expect.stringMatching(message) });
  });

  it("accepts a full, valid request", () => {
    expect(
      violation({
        ...base,
        image: {
          source: {
            case: "url",
            value: {
              url: "https://images.example/debian.qcow2",
              checksum: { algorithm: ChecksumAlgorithm.SHA512, value: "a".repeat(128) },
            },
          },
        },
        disks: [{ name: "data", sizeGib: 100 }],
        networks: [
          {
            network: "default",
            macAddress: "52:54:00:aa:bb:cc",
            staticIp: {
              address: "2001:db8::5",
              prefixLength: 64,
              gateway: "2001:db8::1",
              dnsServers: ["2001:db8::53"],
            },
          },
        ],
        cloudInit: { userData: "#cloud-config\n" },
        labels: { "app.kubernetes.io/name": "web" },
        tags: ["prod"],
      }),
    ).toBeUndefined();
  });

  it("checks explicit-presence fields only when set, and then also zero", () => {
    const reconfigure = (init: MessageInitShape<typeof ReconfigureRequestSchema>) =>
      findViolation(ReconfigureRequestSchema, create(ReconfigureRequestSchema, init));
    expect(reconfigure({ vmId: "vm-1" })).toBeUndefined();
    expect(reconfigure({ vmId: "vm-1", cpu: 0 })).toMatchObject({
      field: "cpu",
      message: expect.stringMatching(/at least 1/),
    });
    expect(
      reconfigure({
        vmId: "vm-1",
        disks: [
          { name: "a", sizeGib: 2 },
          { name: "a", sizeGib: 3 },
        ],
      })?.field,
    ).toBe("disks[1].name");
  });

  it("requires a defined, set enum where the contract says so", () => {
    const power = (operation: number) =>
      findViolation(PowerRequestSchema, create(PowerRequestSchema, { vmId: "vm-1", operation }));
    expect(power(PowerOperation.UNSPECIFIED)).toMatchObject({
      field: "operation",
      message: "must be set",
    });
    expect(power(42)?.field).toBe("operation");
    expect(power(PowerOperation.SHUTDOWN)).toBeUndefined();
  });

  it("checks ids", () => {
    const power = (vmId: string) =>
      findViolation(
        PowerRequestSchema,
        create(PowerRequestSchema, { vmId, operation: PowerOperation.ON }),
      );
    expect(power("vm 1")?.field).toBe("vm_id");
    expect(power("x".repeat(257))?.field).toBe("vm_id");
    expect(power("vm-000001")).toBeUndefined();
  });

  it("checks nested sources of other requests", () => {
    const prepare = findViolation(
      ImagePrepareRequestSchema,
      create(ImagePrepareRequestSchema, { name: "img" }),
    );
    expect(prepare).toMatchObject({ field: "source", message: "is required" });
    expect(
      findViolation(ListVMsRequestSchema, create(ListVMsRequestSchema, { pageSize: 5000 }))?.field,
    ).toBe("page_size");
  });
});

it("validateMessage throws INVALID_SPEC with the field", () => {
  const message = create(CreateRequestSchema, { ...base, class: { cpu: 0, memoryMib: 1 } });
  expect(() => validateMessage(CreateRequestSchema, message)).toThrow(ProviderError);
  try {
    validateMessage(CreateRequestSchema, message);
  } catch (e) {
    expect((e as ProviderError).field).toBe("class.cpu");
  }
});
