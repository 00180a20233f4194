import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { RoleBindingSpecSchema, RoleSpecSchema } from "@virtrigaud/proto/manager";
import { validateBindingSpec, validateRoleSpec } from "./validate-rbac.js";

const at = (field: string) => `resource.role.${field}`;
function refusal(check: () => void): string {
  try {
    check();
  } catch (err) {
    if (ProviderError.is(err, ErrorReason.INVALID_SPEC)) return `${err.field}: ${err.rawMessage}`;
    throw err;
  }
  return "accepted";
}

describe("RBAC validation", () => {
  const role = (verbs: string[], resources: string[]) =>
    create(RoleSpecSchema, { rules: [{ verbs, resources }] });
  it.each([
    [role(["get", "list"], ["virtualmachines", "events"]), "accepted"],
    [role(["*"], ["*"]), "accepted"],
    [role(["patch"], ["virtualmachines"]), "resource.role.spec.rules[0].verbs[0]: must be one of"],
    [role(["get"], ["vms"]), "resource.role.spec.rules[0].resources[0]: must be"],
    [role([], ["vmclasses"]), "resource.role.spec.rules[0].verbs: must name at least one verb"],
  ])("checks rules: %#", (spec, expected) => {
    expect(refusal(() => validateRoleSpec(spec, "r", false, at))).toContain(expected);
  });

  it("keeps the built-in ClusterRoles' names", () => {
    expect(refusal(() => validateRoleSpec(role(["get"], ["*"]), "admin", true, at))).toBe(
      "resource.role.metadata.name: admin is a built-in ClusterRole and cannot be changed",
    );
    expect(refusal(() => validateRoleSpec(role(["get"], ["*"]), "admin", false, at))).toBe(
      "accepted",
    );
  });

  it("binds Users and Groups, and ClusterRoleBindings bind ClusterRoles only", () => {
    const binding = (roleKind: string, subjectKind = "User") =>
      create(RoleBindingSpecSchema, {
        subjects: [{ kind: subjectKind, name: "alice" }],
        roleRef: { kind: roleKind, name: "x" },
      });
    expect(refusal(() => validateBindingSpec(binding("Role"), false, at))).toBe("accepted");
    expect(refusal(() => validateBindingSpec(binding("Role"), true, at))).toBe(
      "resource.role.spec.role_ref.kind: must be ClusterRole",
    );
    expect(refusal(() => validateBindingSpec(binding("Role", "ServiceAccount"), false, at))).toBe(
      "resource.role.spec.subjects[0].kind: must be User or Group",
    );
  });
});
