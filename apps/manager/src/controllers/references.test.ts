import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { Kind, VirtualMachineSchema } from "@virtrigaud/proto/manager";
import { providerKeyOf, refKey, vmReferences } from "./references.js";

describe("vmReferences", () => {
  it("lists provider, class, image, each NIC's attachment and the snapshot, in that order", () => {
    const vm = create(VirtualMachineSchema, {
      metadata: { name: "web", namespace: "team" },
      spec: {
        providerRef: { name: "p", namespace: "infra" },
        classRef: { name: "small", namespace: "" },
        imageRef: { name: "base", namespace: "images" },
        networks: [{ name: "eth0", networkRef: { name: "lan", namespace: "" } }, { name: "mgmt" }],
        snapshot: { revertToRef: { name: "before" } },
      },
    });
    expect(vmReferences(vm).map(refKey)).toEqual([
      `${Kind.PROVIDER}/infra/p`,
      `${Kind.VM_CLASS}/team/small`,
      `${Kind.VM_IMAGE}/images/base`,
      `${Kind.VM_NETWORK_ATTACHMENT}/team/lan`,
      `${Kind.VM_NETWORK_ATTACHMENT}/team/mgmt`,
      `${Kind.VM_SNAPSHOT}/team/before`,
    ]);
  });

  it("lists the Secrets of the VM's cloud-init, in its own namespace, each once", () => {
    const vm = (user: string, meta: string) =>
      create(VirtualMachineSchema, {
        metadata: { name: "web", namespace: "team" },
        spec: {
          userData: { cloudInit: { secretRef: { name: user } } },
          metaData: { cloudInit: { secretRef: { name: meta } } },
        },
      });
    expect(vmReferences(vm("boot", "meta")).map(refKey)).toEqual([
      `${Kind.SECRET}/team/boot`,
      `${Kind.SECRET}/team/meta`,
    ]);
    expect(vmReferences(vm("boot", "boot")).map(refKey)).toEqual([`${Kind.SECRET}/team/boot`]);
  });

  it("leaves out what the spec does not name", () => {
    const vm = create(VirtualMachineSchema, { metadata: { name: "web" }, spec: {} });
    expect(vmReferences(vm)).toEqual([]);
    expect(providerKeyOf(vm)).toBe("default/");
  });

  it("puts a VM on the provider it is bound to, before its spec's", () => {
    const vm = create(VirtualMachineSchema, {
      metadata: { name: "web" },
      spec: { providerRef: { name: "new", namespace: "" } },
      status: { boundProvider: { name: "old", namespace: "default" } },
    });
    expect(providerKeyOf(vm)).toBe("default/old");
  });
});
