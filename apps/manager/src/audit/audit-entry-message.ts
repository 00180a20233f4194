import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type AuditEntry as AuditEntryMessage, AuditEntrySchema } from "@virtrigaud/proto/manager";
import type { AuditEntry } from "./audit-entry.js";

/** An audit record as the API returns it (ListAuditEntries). */
export function auditEntryMessage(entry: AuditEntry): AuditEntryMessage {
  return create(AuditEntrySchema, {
    time: timestampFromDate(new Date(entry.time)),
    replica: entry.replica,
    identity: { ...entry.identity, groups: [...entry.identity.groups] },
    source: entry.source,
    rpc: entry.rpc,
    verb: entry.verb,
    kind: entry.kind,
    namespace: entry.namespace,
    name: entry.name,
    outcome: entry.outcome,
    resourceVersion: entry.resourceVersion ?? "",
    dryRun: entry.dryRun ?? false,
  });
}
