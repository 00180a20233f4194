import { ProviderError } from "@virtrigaud/contracts";

/** One requirement of a label selector. */
type Requirement =
  | { op: "=" | "!="; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: Set<string> }
  | { op: "exists" | "!exists"; key: string };

/** A parsed label selector: matches a set of labels. */
export type LabelSelector = (labels: Readonly<Record<string, string>>) => boolean;

const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const labelKey = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Parses a selector as kubectl writes them: "app=web", "tier!=db",
 * "env in (a,b)", "env notin (c)", "gpu", "!legacy", joined by commas.
 * The empty selector matches everything.
 *
 * @throws ProviderError INVALID_SPEC (field `label_selector`) when it does not parse.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements: Requirement[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  if (current.trim() || parts.length) parts.push(current);
  for (const raw of parts) {
    const part = raw.trim();
    const bad = () =>
      ProviderError.invalidSpec("label_selector", `cannot parse ${JSON.stringify(part)}`);
    let m: RegExpExecArray | null;
    if ((m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(part))) {
      const [, key = "", op, value = ""] = m;
      if (!labelKey.test(key) || !labelValue.test(value)) throw bad();
      requirements.push({ op: op === "!=" ? "!=" : "=", key, value });
    } else if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part))) {
      const [, key = "", op, list = ""] = m;
      if (!labelKey.test(key)) throw bad();
      const values = new Set(
        list
          .split(",")
          .map((v) => v.trim())
          .filter(Boolean),
      );
      if (![...values].every((v) => labelValue.test(v))) throw bad();
      requirements.push({ op: op === "in" ? "in" : "notin", key, values });
    } else if ((m = /^(!?)(\S+)$/.exec(part))) {
      const [, not, key = ""] = m;
      if (!labelKey.test(key)) throw bad();
      requirements.push({ op: not ? "!exists" : "exists", key });
    } else throw bad();
  }
  return (labels) =>
    requirements.every((r) => {
      const value = labels[r.key];
      switch (r.op) {
        case "=":
          return value === r.value;
        case "!=":
          return value !== r.value;
        case "in":
          return value !== undefined && r.values.has(value);
        case "notin":
          return value === undefined || !r.values.has(value);
        case "exists":
          return value !== undefined;
        case "!exists":
          return value === undefined;
      }
    });
}
