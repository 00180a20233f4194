import type { PolicyRule } from "@virtrigaud/proto/manager";
import type { AccessRequest } from "./access-decision.js";
import { allVerbs } from "./builtin-roles.js";

/**
 * The permissions `rules` grant in `namespace` (undefined: everywhere) that
 * the caller does not hold itself, as "verb resource[/name]", at most
 * `most` of them. Kubernetes refuses a Role or a binding that would grant
 * more than its author holds (its escalation check); so does the manager, so
 * who may write RoleBindings cannot make itself an administrator.
 */
export function ungrantable(
  rules: readonly PolicyRule[],
  namespace: string | undefined,
  holds: (request: AccessRequest) => boolean,
  resources: readonly string[],
  most = 5,
): string[] {
  const missing: string[] = [];
  for (const rule of rules) {
    const verbs = rule.verbs.includes("*") ? allVerbs : rule.verbs;
    const kinds = rule.resources.includes("*") ? resources : rule.resources;
    const names: Array<string | undefined> = rule.resourceNames.length
      ? rule.resourceNames
      : [undefined];
    for (const verb of verbs)
      for (const resource of kinds)
        for (const name of names) {
          if (holds({ verb, resource, namespace, ...(name ? { name } : {}) })) continue;
          missing.push(`${verb} ${resource}${name ? `/${name}` : ""}`);
          if (missing.length >= most) return missing;
        }
  }
  return missing;
}
