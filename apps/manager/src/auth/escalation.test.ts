import { create } from "@bufbuild/protobuf";
import { expect, it } from "@jest/globals";
import { PolicyRuleSchema } from "@virtrigaud/proto/manager";
import type { AccessRequest } from "./access-decision.js";
import { ungrantable } from "./escalation.js";

const rule = (verbs: string[], resources: string[], resourceNames: string[] = []) =>
  create(PolicyRuleSchema, { verbs, resources, resourceNames });
const resources = ["virtualmachines", "vmclasses", "roles"];
// The caller may read everything in team-a, and update the VM "web" there.
const holds = (r: AccessRequest) =>
  r.namespace === "team-a" &&
  (["get", "list", "watch"].includes(r.verb) ||
    (r.verb === "update" && r.resource === "virtualmachines" && r.name === "web"));

it("grants what the caller holds, in the same scope", () => {
  expect(ungrantable([rule(["get", "list"], ["*"])], "team-a", holds, resources)).toEqual([]);
  expect(
    ungrantable([rule(["update"], ["virtualmachines"], ["web"])], "team-a", holds, resources),
  ).toEqual([]);
});

it("names what the caller does not hold, wildcards expanded", () => {
  expect(ungrantable([rule(["update"], ["virtualmachines"])], "team-a", holds, resources)).toEqual([
    "update virtualmachines",
  ]);
  expect(ungrantable([rule(["get"], ["vmclasses"])], undefined, holds, resources)).toEqual([
    "get vmclasses",
  ]);
  expect(ungrantable([rule(["*"], ["*"])], "team-a", holds, resources, 2)).toEqual([
    "create virtualmachines",
    "create vmclasses",
  ]);
});
