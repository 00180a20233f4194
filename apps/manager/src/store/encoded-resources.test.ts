import { describe, expect, it } from "@jest/globals";
import { clone, create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Kind,
  type Secret,
  SecretSchema,
  type VirtualMachine,
  VirtualMachineSchema,
  VirtualMachineStatusSchema,
} from "@virtrigaud/proto/manager";
import { decodeResource, encodeResource } from "./encoded-resources.js";

function vm(): VirtualMachine {
  return create(VirtualMachineSchema, {
    metadata: {
      name: "web",
      namespace: "default",
      uid: "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
      generation: 2n,
      labels: { tier: "web", zone: "a" },
      finalizers: ["virtrigaud.io/vm"],
      creationTimestamp: timestampFromMs(1_700_000_000_000),
      resourceVersion: "41",
    },
    spec: { providerRef: { name: "mock" }, classRef: { name: "small" } },
    status: {
      id: "vm-1",
      ips: ["10.0.0.2"],
      provider: { phase: "ready", createTime: "2026-12-05T08:50:24.742Z" },
      conditions: [{ type: "Ready", status: 1, reason: "Ready", observedGeneration: 2n }],
    },
  });
}

describe("encodeResource", () => {
  it("writes the bytes toBinary writes, whatever fields are set, unknown fields last", () => {
    const plain = vm();
    const withScalars = clone(VirtualMachineSchema, plain);
    withScalars.apiVersion = "infra.virtrigaud.io/v1beta1";
    withScalars.kind = "VirtualMachine";
    withScalars.$unknown = [{ no: 99, wireType: 2, data: new Uint8Array([3, 1, 2, 3]) }];
    const bare = create(VirtualMachineSchema, { metadata: { name: "bare" } });
    for (const m of [plain, withScalars, bare])
      expect(encodeResource(Kind.VIRTUAL_MACHINE, m)).toEqual(toBinary(VirtualMachineSchema, m));
    const secret: Secret = create(SecretSchema, {
      metadata: { name: "s" },
      type: "Opaque",
      data: { a: new Uint8Array([1, 2]), b: new Uint8Array([3]) },
    });
    expect(encodeResource(Kind.SECRET, secret)).toEqual(toBinary(SecretSchema, secret));
  });

  it("encodes a shared spec once and a replaced status anew, each version truly", () => {
    const first = vm();
    encodeResource(Kind.VIRTUAL_MACHINE, first);
    const status = clone(
      VirtualMachineStatusSchema,
      first.status ?? create(VirtualMachineStatusSchema),
    );
    status.id = "vm-2";
    const second: VirtualMachine = {
      ...first,
      metadata: clone(VirtualMachineSchema, first).metadata,
      status,
    };
    if (second.metadata) second.metadata.resourceVersion = "42";
    const bytes = encodeResource(Kind.VIRTUAL_MACHINE, second);
    expect(bytes).toEqual(toBinary(VirtualMachineSchema, second));
    expect(decodeResource(Kind.VIRTUAL_MACHINE, bytes)).toEqual(second);
  });
});
