import { profiles } from "../profiles/index.js";
import { selectCases } from "../suite/run-conformance.js";

/** `vcts list`: the profiles and their cases. */
export function listCommand(): number {
  const out: string[] = [];
  for (const profile of profiles) {
    out.push(`${profile.name}: ${profile.description}`);
    for (const c of selectCases([profile.name])) {
      out.push(
        `  ${c.id.padEnd(34)} ${c.title}${c.declared ? " [capability: UNSUPPORTED checked when undeclared]" : ""}`,
      );
    }
    out.push("");
  }
  process.stdout.write(`${out.join("\n")}`);
  return 0;
}
