import { ProviderError } from "@virtrigaud/contracts";
import {
  DatastoreFileError,
  DuplicateNameError,
  FileAlreadyExistsError,
  InsufficientResourcesError,
  InvalidArgumentError,
  InvalidLoginError,
  InvalidPowerStateError,
  InvalidStateError,
  InventoryAmbiguousError,
  InventoryNotFoundError,
  ManagedObjectNotFoundError,
  NoPermissionError,
  NotAuthenticatedError,
  NotSupportedError,
  RequestCanceledError,
  TaskInProgressError,
  ToolsUnavailableError,
  VimConnectionError,
  VimFault,
  VimProtocolError,
} from "@virtrigaud/vsphere-sdk";

/**
 * Says what a vSphere failure means in the contract's terms. Wrong
 * credentials are UNAUTHENTICATED at once (the SDK does not retry them and
 * holds further logins back for a while, so nothing storms vCenter); another
 * task holding the object is RETRYABLE; anything unexpected stays as it is
 * and reaches the caller as INTERNAL, its detail logged.
 */
export function toProviderError(err: unknown): unknown {
  if (err instanceof ProviderError) return err;
  const options = { cause: err };
  if (err instanceof InvalidLoginError) {
    return ProviderError.unauthenticated(
      "vCenter refused the provider's username or password",
      options,
    );
  }
  if (err instanceof NotAuthenticatedError) {
    return ProviderError.unauthenticated("vCenter did not accept the provider's session", options);
  }
  if (err instanceof NoPermissionError) {
    return ProviderError.permissionDenied(`vCenter denied the operation: ${err.message}`, options);
  }
  if (err instanceof ManagedObjectNotFoundError) {
    return ProviderError.notFound(`the vCenter object does not exist: ${err.message}`, options);
  }
  if (
    err instanceof InvalidPowerStateError ||
    err instanceof InvalidStateError ||
    err instanceof DuplicateNameError ||
    err instanceof FileAlreadyExistsError ||
    err instanceof ToolsUnavailableError
  ) {
    return ProviderError.conflict(err.message, options);
  }
  if (err instanceof TaskInProgressError) {
    return ProviderError.retryable(`another vCenter task holds the object: ${err.message}`, {
      ...options,
      retryAfterMs: 2000,
    });
  }
  if (err instanceof InvalidArgumentError) {
    return ProviderError.invalidSpec(err.invalidProperty ?? "", err.message, options);
  }
  if (err instanceof NotSupportedError) return ProviderError.unsupported(err.message, options);
  if (err instanceof InsufficientResourcesError) {
    return ProviderError.resourceExhausted(err.message, { ...options, retryAfterMs: 30_000 });
  }
  if (err instanceof RequestCanceledError) return ProviderError.canceled(err.message, options);
  if (err instanceof VimConnectionError || err instanceof VimProtocolError) {
    return ProviderError.unavailable(`vCenter cannot be reached: ${err.message}`, options);
  }
  if (err instanceof DatastoreFileError) {
    if (err.status === 404) return ProviderError.notFound(err.message, options);
    if (err.status === 401 || err.status === 403) {
      return ProviderError.permissionDenied(err.message, options);
    }
    return ProviderError.unavailable(`the datastore file service failed: ${err.message}`, options);
  }
  if (err instanceof InventoryNotFoundError || err instanceof InventoryAmbiguousError) {
    return ProviderError.invalidSpec("", err.message, options);
  }
  if (err instanceof VimFault)
    return ProviderError.internal(`vCenter failed: ${err.faultType}`, options);
  return err;
}

/**
 * True when a guest operation (ShutdownGuest, RebootGuest) cannot run: the
 * VM has no VMware Tools, or the server has no such method. The provider then
 * falls back to a hard power-off or a reset.
 */
export function guestOperationUnavailable(err: unknown): boolean {
  const cause: unknown = ProviderError.is(err) ? err.cause : err;
  return (
    cause instanceof ToolsUnavailableError ||
    cause instanceof NotSupportedError ||
    (cause instanceof VimFault &&
      (cause.faultType === "MethodNotFound" || cause.is("ToolsUnavailable")))
  );
}
