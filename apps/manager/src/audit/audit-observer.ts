import type { ContextValues } from "@connectrpc/connect";
import { type CallObserver, peerOf } from "@virtrigaud/contracts/server";
import { type AuditIdentity, type AuditedAccess, auditEntryOf } from "./audit-entry.js";
import type { AuditLog } from "./audit-log.js";

/** Options of `createAuditObserver`. */
export interface AuditObserverOptions {
  /** The replica named in every record. */
  replica: string;
  /** The identity a call was made with (set by the access rules). Default: anonymous. */
  identityOf?: (contextValues: ContextValues) => AuditIdentity | undefined;
  /** What the access rules were asked, when they ran. */
  accessOf?: (contextValues: ContextValues) => AuditedAccess | undefined;
}

const anonymous: AuditIdentity = { name: "anonymous", groups: [], method: "anonymous" };

/**
 * Records every mutating call and every refused one in the audit log, as a
 * call observer: it sees each call once, when it finished, with the error
 * the client got, refusals by the access rules included.
 */
export function createAuditObserver(log: AuditLog, options: AuditObserverOptions): CallObserver {
  return {
    finished(req, _info, error, _durationMs, res) {
      const entry = auditEntryOf({
        rpc: req.method.name,
        request: req.stream ? undefined : req.message,
        response: res?.message,
        error,
        identity: options.identityOf?.(req.contextValues) ?? anonymous,
        source: peerOf(req.contextValues)?.address ?? "",
        replica: options.replica,
        time: new Date(),
        access: options.accessOf?.(req.contextValues),
      });
      if (entry) log.record(entry);
    },
  };
}
