import type {
  LocalizedMethodFault,
  ManagedObjectReference,
  MethodFault,
} from "../gen/vim-types.js";
import { isSubtypeOf } from "../vim/type-info.js";

/**
 * A vim25 fault: a SOAP fault from a call, or the error of a failed task.
 * `faultType` is the vim25 fault type ("InvalidPowerState"), `fault` its
 * decoded fields. Subclasses exist for the faults callers act on; `is()`
 * checks the fault type hierarchy (a FileAlreadyExists is a FileFault).
 */
export class VimFault extends Error {
  /** The vim25 fault type, for example "ManagedObjectNotFound". */
  readonly faultType: string;
  /** The fault's fields as the server sent them. */
  readonly fault: MethodFault;

  constructor(faultType: string, message: string, fault: MethodFault, options?: ErrorOptions) {
    super(message || faultType, options);
    // The class's own name ("VimFault", "InvalidLoginError", ...), so subclasses need no more.
    this.name = new.target.name;
    this.faultType = faultType;
    this.fault = fault;
  }

  /** True when this fault is `type` or one of its subtypes. */
  is(type: string): boolean {
    return this.faultType === type || isSubtypeOf(this.faultType, type);
  }

  /** A field of the fault, as the server sent it (the subclasses' getters). */
  protected field<T>(name: string): T | undefined {
    return (this.fault as Record<string, unknown>)[name] as T | undefined;
  }
}

/** Thrown when the object a call names does not exist (any more). */
export class ManagedObjectNotFoundError extends VimFault {
  /** The missing object, when the server said. */
  get obj(): ManagedObjectReference | undefined {
    return this.field<ManagedObjectReference>("obj");
  }
}

/** Thrown when an argument is invalid; `invalidProperty` names it when the server said. */
export class InvalidArgumentError extends VimFault {
  get invalidProperty(): string | undefined {
    return this.field<string>("invalidProperty");
  }
}

/** Thrown when a VM is not in the power state an operation needs. */
export class InvalidPowerStateError extends VimFault {
  get existingState(): string | undefined {
    return this.field<string>("existingState");
  }
}

/** Thrown when an object is in a state that does not allow the operation. */
export class InvalidStateError extends VimFault {}

/** Thrown when a file to be created exists already. */
export class FileAlreadyExistsError extends VimFault {}

/** Thrown when an object of the same name exists already in the same place. */
export class DuplicateNameError extends VimFault {}

/** Thrown when the session is not logged in, or has expired or been terminated. */
export class NotAuthenticatedError extends VimFault {}

/** Thrown when Login refuses the username or password. */
export class InvalidLoginError extends VimFault {}

/** Thrown when the user lacks a privilege for the operation. */
export class NoPermissionError extends VimFault {}

/** Thrown when another task holds the object. */
export class TaskInProgressError extends VimFault {
  get task(): ManagedObjectReference | undefined {
    return this.field<ManagedObjectReference>("task");
  }
}

/** Thrown when the server does not support the operation (on this object, or at all). */
export class NotSupportedError extends VimFault {}

/** Thrown when an operation was cancelled, for example a cancelled task. */
export class RequestCanceledError extends VimFault {}

/** Thrown when a guest operation needs VMware Tools and they are not running. */
export class ToolsUnavailableError extends VimFault {}

/** Thrown when a name is not allowed. */
export class InvalidNameError extends VimFault {}

/** Thrown when there are not enough resources (CPU, memory, licences) for the operation. */
export class InsufficientResourcesError extends VimFault {}

type FaultClass = new (
  faultType: string,
  message: string,
  fault: MethodFault,
  options?: ErrorOptions,
) => VimFault;

/** The error class of each fault type, most specific first where they nest. */
const faultClasses: Array<[string, FaultClass]> = [
  ["ManagedObjectNotFound", ManagedObjectNotFoundError],
  ["InvalidPowerState", InvalidPowerStateError],
  ["FileAlreadyExists", FileAlreadyExistsError],
  ["DuplicateName", DuplicateNameError],
  ["NotAuthenticated", NotAuthenticatedError],
  ["InvalidLogin", InvalidLoginError],
  ["TaskInProgress", TaskInProgressError],
  ["ToolsUnavailable", ToolsUnavailableError],
  ["InvalidName", InvalidNameError],
  ["RequestCanceled", RequestCanceledError],
  ["InsufficientResourcesFault", InsufficientResourcesError],
  ["NoPermission", NoPermissionError],
  ["InvalidArgument", InvalidArgumentError],
  ["InvalidState", InvalidStateError],
  ["NotSupported", NotSupportedError],
  ["NotImplemented", NotSupportedError],
];

/**
 * Builds the typed error of a fault: the class of the fault type or of its
 * nearest base type that has one (NotAuthenticated before NoPermission), or
 * VimFault itself.
 */
export function toVimFault(
  faultType: string,
  message: string,
  fault: MethodFault,
  options?: ErrorOptions,
): VimFault {
  for (const [type, Class] of faultClasses) {
    if (faultType === type || isSubtypeOf(faultType, type)) {
      return new Class(faultType, message, fault, options);
    }
  }
  return new VimFault(faultType, message, fault, options);
}

/** The typed error of a task's or property's LocalizedMethodFault. */
export function fromLocalizedFault(error: LocalizedMethodFault): VimFault {
  const fault = error.fault as MethodFault | undefined;
  const type = fault?._type ?? "MethodFault";
  const messages = (fault?.faultMessage ?? [])
    .map((m) => m.message)
    .filter((m): m is string => typeof m === "string" && m !== "");
  return toVimFault(
    type,
    error.localizedMessage || messages.join("; ") || type,
    fault ?? { _type: "MethodFault" },
  );
}

/** The server answered, but not with a SOAP response the SDK can read. */
export class VimProtocolError extends Error {
  override name = "VimProtocolError";
  /** The HTTP status of the answer. */
  readonly status: number;
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** The server could not be reached: connection refused, reset, DNS, or TLS verification. */
export class VimConnectionError extends Error {
  override name = "VimConnectionError";
}
