import type { StoredChange, StoredEvent, StoredResource } from "./backend.js";

// The rows both databases return, by the same column names, and what the
// store makes of them. A bigint column comes as a number from SQLite and as
// a string from PostgreSQL (node-postgres keeps every int8 exact).

type Int8 = number | string;

export interface ResourceRow {
  kind: number;
  namespace: string;
  name: string;
  resource_version: Int8;
  data: Uint8Array;
}

export interface ChangeRow {
  resource_version: Int8;
  type: number;
  kind: number;
  namespace: string;
  name: string;
  /** SQLite logs it for deletions only. */
  data: Uint8Array | null;
}

export interface EventRow {
  seq: Int8;
  kind: number;
  namespace: string;
  name: string;
  uid: string;
  type: number;
  reason: string;
  message: string;
  first_ms: Int8;
  last_ms: Int8;
  count: number;
}

export function toStoredResource(row: ResourceRow): StoredResource {
  return {
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    resourceVersion: Number(row.resource_version),
    data: row.data,
  };
}

export function toStoredChange(row: ChangeRow): StoredChange {
  return {
    resourceVersion: Number(row.resource_version),
    type: row.type,
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    data: row.data ?? undefined,
  };
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    sequence: Number(row.seq),
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    uid: row.uid,
    type: row.type,
    reason: row.reason,
    message: row.message,
    firstMs: Number(row.first_ms),
    lastMs: Number(row.last_ms),
    count: row.count,
  };
}
