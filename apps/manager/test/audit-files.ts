import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { AuditEntry } from "../src/audit/audit-entry.js";

/**
 * Every record of the audit log in `dir`, oldest first, across its rotated
 * files: audit.log.N is older than audit.log.(N-1), which is older than audit.log.
 */
export function readAuditDir(dir: string): AuditEntry[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith("audit.log"))
    .sort((a, b) => b.length - a.length || (a < b ? 1 : -1))
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean))
    .map((line) => JSON.parse(line) as AuditEntry);
}
