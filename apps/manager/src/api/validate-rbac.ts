import { ProviderError } from "@virtrigaud/contracts";
import type { PolicyRule, RoleBindingSpec, RoleSpec } from "@virtrigaud/proto/manager";
import { allVerbs, builtinClusterRoles } from "../auth/builtin-roles.js";
import { kinds } from "../manifest/kinds.js";

const resourceNames = new Set(["*", "events", ...kinds.map((k) => k.plural)]);
const verbNames = new Set(["*", ...allVerbs]);
const builtinNames = new Set(builtinClusterRoles([]).keys());

function fail(field: string, message: string): never {
  throw ProviderError.invalidSpec(field, message);
}

function validateRule(rule: PolicyRule, at: string): void {
  if (!rule.verbs.length) fail(`${at}.verbs`, "must name at least one verb");
  for (const [i, verb] of rule.verbs.entries())
    if (!verbNames.has(verb))
      fail(`${at}.verbs[${i}]`, `must be one of ${[...verbNames].join(", ")}`);
  if (!rule.resources.length) fail(`${at}.resources`, "must name at least one resource");
  for (const [i, resource] of rule.resources.entries())
    if (!resourceNames.has(resource))
      fail(
        `${at}.resources[${i}]`,
        `must be "*" or a lowercase plural: ${[...resourceNames].filter((r) => r !== "*").join(", ")}`,
      );
}

/** Checks a Role's or ClusterRole's rules; a ClusterRole may not take a built-in name. */
export function validateRoleSpec(
  spec: RoleSpec | undefined,
  name: string,
  cluster: boolean,
  at: (field: string) => string,
): void {
  if (cluster && builtinNames.has(name))
    fail(at("metadata.name"), `${name} is a built-in ClusterRole and cannot be changed`);
  for (const [i, rule] of (spec?.rules ?? []).entries()) validateRule(rule, at(`spec.rules[${i}]`));
}

/** Checks a binding's subjects and role; a ClusterRoleBinding binds ClusterRoles only. */
export function validateBindingSpec(
  spec: RoleBindingSpec | undefined,
  cluster: boolean,
  at: (field: string) => string,
): void {
  const ref = spec?.roleRef;
  if (!ref) return fail(at("spec.role_ref"), "is required");
  const kinds = cluster ? ["ClusterRole"] : ["Role", "ClusterRole"];
  if (!kinds.includes(ref.kind)) fail(at("spec.role_ref.kind"), `must be ${kinds.join(" or ")}`);
  for (const [i, subject] of (spec?.subjects ?? []).entries())
    if (subject.kind !== "User" && subject.kind !== "Group")
      fail(at(`spec.subjects[${i}].kind`), "must be User or Group");
}
