import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import {
  ClusterRoleBindingSchema,
  ClusterRoleSchema,
  RoleBindingSchema,
  RoleSchema,
  SubjectSchema,
} from "@virtrigaud/proto/manager";
import { kinds } from "../manifest/kinds.js";
import { type AccessRequest, type Policy, decideAccess } from "./access-decision.js";
import { builtinClusterRoles } from "./builtin-roles.js";
import type { Identity } from "./identity.js";

const user = (name: string, groups: string[] = []): Identity => ({
  name,
  groups,
  method: "token",
});
const subject = (kind: "User" | "Group", name: string) => create(SubjectSchema, { kind, name });
const binding = (namespace: string, name: string, roleKind: string, role: string, who: string) =>
  create(RoleBindingSchema, {
    metadata: { name, namespace },
    spec: { subjects: [subject("User", who)], roleRef: { kind: roleKind, name: role } },
  });

const policy: Policy = {
  roles: [
    create(RoleSchema, {
      metadata: { name: "vm-operator", namespace: "team-a" },
      spec: {
        rules: [
          { verbs: ["get", "list", "update"], resources: ["virtualmachines"] },
          { verbs: ["delete"], resources: ["virtualmachines"], resourceNames: ["scratch"] },
        ],
      },
    }),
  ],
  roleBindings: [
    binding("team-a", "ops", "Role", "vm-operator", "olga"),
    binding("team-a", "edit", "ClusterRole", "editor", "eddie"),
    binding("team-a", "admins", "ClusterRole", "admin", "nadia"),
    binding("team-a", "dangling", "Role", "missing", "dan"),
  ],
  clusterRoles: [
    create(ClusterRoleSchema, {
      metadata: { name: "image-reader" },
      spec: { rules: [{ verbs: ["get", "list"], resources: ["vmimages"] }] },
    }),
  ],
  clusterRoleBindings: [
    create(ClusterRoleBindingSchema, {
      metadata: { name: "viewers" },
      spec: {
        subjects: [subject("Group", "auditors")],
        roleRef: { kind: "ClusterRole", name: "viewer" },
      },
    }),
    create(ClusterRoleBindingSchema, {
      metadata: { name: "images" },
      spec: {
        subjects: [subject("User", "ivan")],
        roleRef: { kind: "ClusterRole", name: "image-reader" },
      },
    }),
  ],
  builtinClusterRoles: builtinClusterRoles(kinds.map((k) => k.plural)),
  bootstrapAdmins: [subject("User", "root"), subject("Group", "platform")],
};

const req = (verb: string, resource: string, namespace?: string, name?: string): AccessRequest => ({
  verb,
  resource,
  namespace,
  ...(name ? { name } : {}),
});

describe("deciding access", () => {
  it.each<[string, Identity, AccessRequest, boolean]>([
    // viewer (through a group): reads everything but secrets and RBAC kinds, anywhere
    ["viewer reads VMs", user("vic", ["auditors"]), req("get", "virtualmachines", "x", "a"), true],
    ["viewer lists all namespaces", user("vic", ["auditors"]), req("list", "providers"), true],
    ["viewer reads events", user("vic", ["auditors"]), req("list", "events", "x"), true],
    ["viewer writes", user("vic", ["auditors"]), req("create", "virtualmachines", "x"), false],
    ["viewer reads secrets", user("vic", ["auditors"]), req("get", "secrets", "x", "s"), false],
    ["viewer reads roles", user("vic", ["auditors"]), req("list", "roles", "x"), false],
    // editor bound by a RoleBinding: writes within team-a only, no RBAC kinds
    ["editor creates in ns", user("eddie"), req("create", "virtualmachines", "team-a"), true],
    ["editor reads secrets", user("eddie"), req("get", "secrets", "team-a", "s"), true],
    ["editor elsewhere", user("eddie"), req("get", "virtualmachines", "team-b", "a"), false],
    ["editor all namespaces", user("eddie"), req("list", "virtualmachines"), false],
    ["editor writes roles", user("eddie"), req("create", "rolebindings", "team-a"), false],
    // admin by RoleBinding: everything within team-a, nothing cluster-scoped
    ["ns admin binds", user("nadia"), req("create", "rolebindings", "team-a"), true],
    ["ns admin clusterroles", user("nadia"), req("create", "clusterroles", undefined), false],
    ["ns admin elsewhere", user("nadia"), req("delete", "providers", "team-b", "p"), false],
    // custom namespaced Role with resourceNames
    ["custom role update", user("olga"), req("update", "virtualmachines", "team-a", "web"), true],
    [
      "custom role delete named",
      user("olga"),
      req("delete", "virtualmachines", "team-a", "scratch"),
      true,
    ],
    [
      "custom role delete other",
      user("olga"),
      req("delete", "virtualmachines", "team-a", "web"),
      false,
    ],
    ["custom role other kind", user("olga"), req("get", "providers", "team-a", "p"), false],
    ["custom role create", user("olga"), req("create", "virtualmachines", "team-a"), false],
    // custom ClusterRole by ClusterRoleBinding
    ["cluster role reads images", user("ivan"), req("list", "vmimages"), true],
    ["cluster role other verb", user("ivan"), req("delete", "vmimages", "x", "i"), false],
    // bootstrap administrators, by user and by group
    ["bootstrap user", user("root"), req("create", "clusterrolebindings", undefined), true],
    ["bootstrap group", user("pat", ["platform"]), req("delete", "secrets", "x", "s"), true],
    // nobody, and a binding to a Role that does not exist
    ["stranger", user("mallory"), req("get", "virtualmachines", "team-a", "a"), false],
    ["dangling binding", user("dan"), req("get", "virtualmachines", "team-a", "a"), false],
    ["user named like a group", user("auditors"), req("get", "virtualmachines", "x", "a"), false],
  ])("%s", (_case, identity, request, allowed) => {
    expect(decideAccess(policy, identity, request).allowed).toBe(allowed);
  });

  it("says which binding allowed", () => {
    expect(
      decideAccess(policy, user("olga"), req("get", "virtualmachines", "team-a", "a")),
    ).toEqual({
      allowed: true,
      reason: "RoleBinding team-a/ops grants Role vm-operator",
    });
  });
});
