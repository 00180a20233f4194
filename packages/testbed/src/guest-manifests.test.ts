import { describe, expect, it } from "@jest/globals";
import { parseAllDocuments } from "yaml";
import { guestUser, passwordGuestManifests } from "./guest-manifests.js";
import type { GuestTestbed } from "./guest-testbed.js";

const bed = { image: '/t/guest image/"debian".qcow2', network: "vrtg-test" } as GuestTestbed;
const readAll = (text: string): unknown[] =>
  parseAllDocuments(text).map((d) => {
    const value: unknown = d.toJS();
    return value;
  });

describe("passwordGuestManifests", () => {
  it("gives the five resources, every value read back as it was given", () => {
    const password = 'p#ss: "word"';
    const docs = readAll(
      passwordGuestManifests(bed, {
        name: "guest-1",
        password,
        providerUrl: "http://127.0.0.1:4100",
      }),
    );
    expect(docs).toMatchObject([
      { kind: "Provider", spec: { endpoint: "http://127.0.0.1:4100" } },
      { kind: "VMClass", metadata: { name: "guest" } },
      { kind: "VMImage", spec: { source: { libvirt: { path: bed.image } } } },
      { kind: "VMNetworkAttachment", spec: { network: { libvirt: { networkName: "vrtg-test" } } } },
      { kind: "VirtualMachine", metadata: { name: "guest-1" }, spec: { powerState: "On" } },
    ]);
    const vm = docs[4] as { spec: { userData: { cloudInit: { inline: string } } } };
    const inline = vm.spec.userData.cloudInit.inline;
    expect(inline.startsWith("#cloud-config\n")).toBe(true);
    expect(readAll(inline)[0]).toEqual({
      hostname: "guest-1",
      users: [
        { name: guestUser, shell: "/bin/bash", lock_passwd: false, plain_text_passwd: password },
      ],
    });
  });
});
