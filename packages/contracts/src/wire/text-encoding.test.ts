import { describe, expect, it } from "@jest/globals";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { reflect } from "@bufbuild/protobuf/reflect";
import { DescribeResponseSchema, VirtualMachineSchema } from "@virtrigaud/proto";
import { checkUtf8, encodeUtf8, useFastTextEncoding } from "./text-encoding.js";

const encoder = new TextEncoder();

const texts = [
  "",
  "vm-00042",
  "infra.virtrigaud.io/v1beta1",
  "a".repeat(64),
  "a".repeat(65),
  "\u007f",
  "é",
  "ascii then é",
  "名前",
  "emoji 🖥️ last",
  "lone \ud800 surrogate",
  "\udc00",
  `${"a".repeat(63)}é`,
  `${"é".repeat(40)}`,
];

describe("encodeUtf8", () => {
  it.each(texts)("writes TextEncoder's bytes for %j", (text) => {
    expect(Buffer.from(encodeUtf8(text))).toEqual(Buffer.from(encoder.encode(text)));
  });
});

describe("checkUtf8", () => {
  it.each(texts)("decides as encodeURIComponent does for %j", (text) => {
    let encodable = true;
    try {
      encodeURIComponent(text);
    } catch {
      encodable = false;
    }
    expect(checkUtf8(text)).toBe(encodable);
  });
});

describe("useFastTextEncoding", () => {
  const message = () =>
    create(DescribeResponseSchema, {
      exists: true,
      vm: { id: "vm-1", name: "名前 and ascii", labels: { "virtrigaud.io/owner": "é" } },
    });

  it("leaves protobuf's bytes as they were, and reads them back", () => {
    const before = toBinary(DescribeResponseSchema, message());
    useFastTextEncoding();
    expect(getTextEncoding().encodeUtf8).toBe(encodeUtf8);
    const after = toBinary(DescribeResponseSchema, message());
    expect(Buffer.from(after)).toEqual(Buffer.from(before));
    expect(fromBinary(DescribeResponseSchema, after).vm?.name).toBe("名前 and ascii");
  });

  it("still refuses, where protobuf checks, a string UTF-8 cannot carry", () => {
    useFastTextEncoding();
    const vm = reflect(VirtualMachineSchema);
    const id = VirtualMachineSchema.field["id"];
    if (!id) throw new Error("VirtualMachine has no id");
    expect(() => vm.set(id, "lone \ud800")).toThrow(/UTF8/i);
    vm.set(id, "名前");
    expect(vm.get(id)).toBe("名前");
  });

  it("is set once however often it is called", () => {
    useFastTextEncoding();
    const first = getTextEncoding();
    useFastTextEncoding();
    expect(getTextEncoding()).toBe(first);
  });
});
