import { Code, type ConnectError } from "@connectrpc/connect";
import {
  type ApplyRequest,
  type ApplyResponse,
  ApplyOutcome,
  type DeleteResponse,
  type Kind,
} from "@virtrigaud/proto/manager";
import { resourcesAnswered } from "../api/resource-bytes.js";
import { findKind, fromResource, kindInfo } from "../manifest/kinds.js";

/** Who made a call, as an audit record names it. */
export interface AuditIdentity {
  readonly name: string;
  readonly groups: readonly string[];
  /** How the identity was established: "token", "certificate", "oidc", "anonymous". */
  readonly method: string;
}

/**
 * One audited call: a JSON line of the audit log. It names the resource a
 * call was about, never its content: no spec, no data, no error message
 * (a refusal's message may quote what was sent).
 */
export interface AuditEntry {
  /** When the call finished, ISO 8601 with milliseconds, UTC. */
  time: string;
  /** The manager replica that served the call. */
  replica: string;
  identity: AuditIdentity;
  /** The client's address. */
  source: string;
  /** The RPC: "Apply", "Delete", "Get" ... */
  rpc: string;
  /** What the call did or tried: create, update, delete, get, list, watch ... */
  verb: string;
  /** As manifests write it ("VirtualMachine"); empty for calls about no kind. */
  kind: string;
  namespace: string;
  name: string;
  /** "ok", or the call's error code as Connect names it ("permission_denied"). */
  outcome: string;
  /** The resource's version after a successful write. */
  resourceVersion?: string;
  /** An Apply that checked and stored nothing. */
  dryRun?: boolean;
}

/** What the audit log is told about a finished call. */
export interface FinishedCall {
  rpc: string;
  request: unknown;
  /** The unary response, when the call succeeded. */
  response: unknown;
  error: ConnectError | undefined;
  identity: AuditIdentity;
  source: string;
  replica: string;
  time: Date;
  /** What the access rules were asked, when they ran: the verb (create or update for an Apply) and target. */
  access?: AuditedAccess | undefined;
}

/** What a call asked the access rules. */
export interface AuditedAccess {
  verb: string;
  /** The kind's plural ("virtualmachines"), "events", "auditentries" or "*". */
  resource: string;
  namespace?: string | undefined;
  name?: string | undefined;
}

/** Calls recorded whatever their outcome: changes, and consoles opened (who got a ticket, never the ticket). */
const mutating = new Set(["Apply", "Delete", "CreateConsoleTicket"]);
const refusals = new Set([Code.PermissionDenied, Code.Unauthenticated]);

/** Whether a call belongs in the audit log: every mutating call, and every refused one. */
export function isAudited(rpc: string, error: ConnectError | undefined): boolean {
  return mutating.has(rpc) || (error !== undefined && refusals.has(error.code));
}

/** The audit record of a call, or undefined when the call is not audited. */
export function auditEntryOf(call: FinishedCall): AuditEntry | undefined {
  if (!isAudited(call.rpc, call.error)) return undefined;
  // A stream's request is not at hand (a refused Watch): the access rules' target is.
  // A console ticket's `kind` is a console's, not a resource's: the access rules' target names the VM.
  const target =
    (call.request === undefined || call.rpc === "CreateConsoleTicket") && call.access
      ? accessTarget(call.access)
      : targetOf(call.rpc, call.request);
  const entry: AuditEntry = {
    time: call.time.toISOString(),
    replica: call.replica,
    identity: call.identity,
    source: call.source,
    rpc: call.rpc,
    verb: call.access?.verb ?? verbOf(call.rpc, call.response),
    kind: target.kind,
    namespace: target.namespace,
    name: target.name,
    outcome: call.error ? codeName(call.error.code) : "ok",
  };
  const resourceVersion = call.error ? undefined : versionOf(call.rpc, call.response);
  if (resourceVersion) entry.resourceVersion = resourceVersion;
  if (call.rpc === "Apply" && (call.request as ApplyRequest).dryRun) entry.dryRun = true;
  return entry;
}

/** "permission_denied", as Connect writes codes on the wire. */
function codeName(code: Code): string {
  return Code[code].replace(/[A-Z]/g, (c, i: number) => (i ? "_" : "") + c.toLowerCase());
}

interface Target {
  kind: string;
  namespace: string;
  name: string;
}

function targetOf(rpc: string, request: unknown): Target {
  if (rpc === "Apply") {
    const inner = fromResource((request as ApplyRequest).resource);
    const metadata = inner?.message.metadata;
    return {
      kind: inner?.info.name ?? "",
      namespace: metadata?.namespace || "default",
      name: metadata?.name ?? "",
    };
  }
  // Get, List, Delete, Watch and ListEvents requests share these fields.
  const r = (request ?? {}) as {
    kind?: Kind;
    namespace?: string;
    name?: string;
    allNamespaces?: boolean;
  };
  // Where the API reads an empty namespace as "default", so does the record;
  // a watch, events or an all-namespaces list without one is about every namespace.
  const defaulted = rpc === "Get" || rpc === "Delete" || (rpc === "List" && !r.allNamespaces);
  return {
    kind: r.kind ? kindName(r.kind) : "",
    namespace: r.namespace || (defaulted ? "default" : ""),
    name: r.name ?? "",
  };
}

function accessTarget(access: AuditedAccess): Target {
  return {
    kind: findKind(access.resource)?.name ?? access.resource,
    namespace: access.namespace ?? "",
    name: access.name ?? "",
  };
}

function kindName(kind: Kind): string {
  try {
    return kindInfo(kind).name;
  } catch {
    return ""; // a value no kind has: the call was refused for it
  }
}

const readVerbs: Record<string, string> = {
  Get: "get",
  List: "list",
  Watch: "watch",
  ListEvents: "list",
  Delete: "delete",
};

/** The verb of a call whose access rules did not say (an Apply is create or update by what it did). */
function verbOf(rpc: string, response: unknown): string {
  if (rpc === "Apply") {
    const outcome = (response as ApplyResponse | undefined)?.outcome;
    if (outcome === ApplyOutcome.CREATED) return "create";
    if (outcome === ApplyOutcome.CONFIGURED || outcome === ApplyOutcome.UNCHANGED) return "update";
    return "apply";
  }
  return readVerbs[rpc] ?? rpc.charAt(0).toLowerCase() + rpc.slice(1);
}

function versionOf(rpc: string, response: unknown): string | undefined {
  if ((rpc !== "Apply" && rpc !== "Delete") || typeof response !== "object" || !response)
    return undefined;
  const resource = (response as ApplyResponse | DeleteResponse).resource;
  // An answer in a binary protocol carries the stored bytes, not the message.
  const message = resource
    ? fromResource(resource)?.message
    : resourcesAnswered(response)?.[0]?.message;
  return message?.metadata?.resourceVersion || undefined;
}
