import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import {
  Kind,
  ProviderSchema,
  VMClassSchema,
  VMImageSchema,
  VMNetworkAttachmentSchema,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import type { AnyResource } from "../manifest/kinds.js";
import { findNotShared, isSharedWith, sharedWithProblem } from "./namespace-sharing.js";

const meta = (namespace: string, name: string, sharedWith?: string) => ({
  namespace,
  name,
  annotations: sharedWith === undefined ? {} : { "virtrigaud.io/shared-with": sharedWith },
});

describe("isSharedWith", () => {
  const provider = (sharedWith?: string) =>
    create(ProviderSchema, { metadata: meta("team-b", "p", sharedWith) });
  it.each([
    [undefined, "team-b", true], // its own namespace
    [undefined, "team-a", false],
    ["team-a", "team-a", true],
    ["team-c, team-a", "team-a", true],
    ["team-c", "team-a", false],
    ["*", "team-a", true],
    [" * ", "anything", true],
    ["", "team-a", false],
    ["team-a,", "team-a", false], // not a list of namespaces: shares with none
    ["team-*", "team-a", false], // no patterns but "*"
  ])("annotation %j, asked by %s: %s", (sharedWith, namespace, expected) => {
    expect(isSharedWith(provider(sharedWith), namespace)).toBe(expected);
  });
});

describe("sharedWithProblem", () => {
  it.each(["*", "team-a", "team-a,team-b", "a, b"])("takes %j", (value) => {
    expect(sharedWithProblem(value)).toBeUndefined();
  });
  it.each(["", "team-a,", "Team-A", "team-*", "a;b"])("refuses %j", (value) => {
    expect(sharedWithProblem(value)).toMatch(/must be "\*" or namespaces separated by commas/);
  });
});

describe("findNotShared", () => {
  const vm = create(VirtualMachineSchema, {
    metadata: { name: "web", namespace: "team-a" },
    spec: {
      providerRef: { name: "p", namespace: "team-b" },
      classRef: { name: "small", namespace: "team-b" },
      imageRef: { name: "debian", namespace: "team-a" },
      networks: [
        { name: "nic0" },
        { name: "nic1", networkRef: { name: "lan", namespace: "team-b" } },
      ],
    },
  });
  const store = (sharedWith: Partial<Record<Kind, string>>, missing: Kind[] = []) => {
    const all: Array<[Kind, AnyResource]> = [
      [
        Kind.PROVIDER,
        create(ProviderSchema, { metadata: meta("team-b", "p", sharedWith[Kind.PROVIDER]) }),
      ],
      [
        Kind.VM_CLASS,
        create(VMClassSchema, { metadata: meta("team-b", "small", sharedWith[Kind.VM_CLASS]) }),
      ],
      [Kind.VM_IMAGE, create(VMImageSchema, { metadata: meta("team-a", "debian") })],
      [
        Kind.VM_NETWORK_ATTACHMENT,
        create(VMNetworkAttachmentSchema, {
          metadata: meta("team-b", "lan", sharedWith[Kind.VM_NETWORK_ATTACHMENT]),
        }),
      ],
    ];
    return (kind: Kind, namespace: string, name: string) =>
      missing.includes(kind)
        ? undefined
        : all.find(
            ([k, r]) =>
              k === kind && r.metadata?.namespace === namespace && r.metadata.name === name,
          )?.[1];
  };
  const everything = {
    [Kind.PROVIDER]: "team-a",
    [Kind.VM_CLASS]: "*",
    [Kind.VM_NETWORK_ATTACHMENT]: "team-x,team-a",
  };

  it("allows references into namespaces that share each resource, and its own", () => {
    expect(findNotShared(vm, store(everything))).toBeUndefined();
  });

  it.each([
    [Kind.PROVIDER, "spec.provider_ref", "Provider team-b/p"],
    [Kind.VM_CLASS, "spec.class_ref", "VMClass team-b/small"],
    [Kind.VM_NETWORK_ATTACHMENT, "spec.networks[1].network_ref", "VMNetworkAttachment team-b/lan"],
  ])("refuses a reference to a %s that does not share, naming the field", (kind, field, what) => {
    const refused = findNotShared(vm, store({ ...everything, [kind]: "team-c" }));
    expect(refused).toEqual({
      field,
      message: `${what} is not shared with namespace team-a: a reference into another namespace needs the resource there to exist and to name team-a (or "*") in its annotation virtrigaud.io/shared-with`,
    });
  });

  it("refuses a reference to a resource that does not exist in the same words", () => {
    const missing = findNotShared(vm, store(everything, [Kind.VM_CLASS]));
    const notShared = findNotShared(vm, store({ ...everything, [Kind.VM_CLASS]: "team-c" }));
    expect(missing).toEqual(notShared);
  });
});
