import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { VirtualMachineSchema } from "@virtrigaud/proto/manager";
import { adoptOwnerAnnotation, judgeOwnership } from "./ownership.js";

const vm = (options: { annotation?: string; adopted?: string } = {}) =>
  create(VirtualMachineSchema, {
    metadata: {
      name: "web-1",
      uid: "mine",
      annotations: options.annotation ? { [adoptOwnerAnnotation]: options.annotation } : {},
    },
    status: { adoptedOwnerUid: options.adopted ?? "" },
  });
const labelled = (uid: string) => (uid ? { "virtrigaud.io/uid": uid } : {});

describe("judgeOwnership", () => {
  it.each([
    ["its own uid", vm(), "mine", { verdict: "own" }],
    ["no uid (made outside VirtRigaud)", vm(), "", { verdict: "unlabelled" }],
    ["another's uid", vm(), "theirs", { verdict: "foreign", ownerUid: "theirs" }],
    [
      "another's uid the annotation names",
      vm({ annotation: "theirs" }),
      "theirs",
      { verdict: "adopt", ownerUid: "theirs" },
    ],
    [
      "another's uid the annotation does not name",
      vm({ annotation: "someone-else" }),
      "theirs",
      { verdict: "foreign", ownerUid: "theirs" },
    ],
    [
      "a uid taken over before (a clone's source)",
      vm({ adopted: "theirs" }),
      "theirs",
      { verdict: "own" },
    ],
  ])("a VM with %s", (_what, resource, uid, verdict) => {
    expect(judgeOwnership(resource, labelled(uid))).toEqual(verdict);
  });
});
