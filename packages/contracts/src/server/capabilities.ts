import type { DescEnum } from "@bufbuild/protobuf";
import {
  type Capabilities,
  CloneType,
  type CreateRequest,
  type DiskType,
  DiskTypeSchema,
  type Firmware,
  FirmwareSchema,
  ImageFormat,
  ImageFormatSchema,
  type ImageSource,
  ImageSourceKind,
  type NetworkType,
  NetworkTypeSchema,
  PowerOperation,
} from "@virtrigaud/proto";
import type {
  OptionalMethodName,
  Provider,
  ProviderMethodName,
  ProviderRequest,
} from "../provider.js";

/** Which capability each optional method stands for. */
const capabilityOfMethod: Record<OptionalMethodName, (c: Capabilities) => boolean> = {
  snapshotCreate: (c) => c.snapshots,
  snapshotDelete: (c) => c.snapshots,
  snapshotRevert: (c) => c.snapshots,
  snapshotList: (c) => c.snapshots,
  clone: (c) => c.fullClones || c.linkedClones,
  imagePrepare: (c) => c.imagePrepare,
  describeDisks: exportsDisks,
  diskExportBegin: exportsDisks,
  diskExportRead: exportsDisks,
  diskExportEnd: exportsDisks,
  diskImportBegin: importsDisks,
  diskImportWrite: importsDisks,
  diskImportCommit: importsDisks,
  diskImportAbort: importsDisks,
};

function exportsDisks(c: Capabilities): boolean {
  return c.diskExportFormats.length > 0;
}

function importsDisks(c: Capabilities): boolean {
  return c.diskImportFormats.length > 0;
}

/** The outcome of comparing a provider's methods with its declared capabilities. */
export interface CapabilityAgreement {
  /** Declared capabilities whose methods are missing: the provider would lie. */
  errors: string[];
  /** Methods present whose capability is not declared: served as UNSUPPORTED. */
  warnings: string[];
}

/** Compares the methods a provider has with the capabilities it declares. */
export function checkCapabilityAgreement(
  provider: Provider,
  capabilities: Capabilities,
): CapabilityAgreement {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const [method, declared] of Object.entries(capabilityOfMethod) as Array<
    [OptionalMethodName, (c: Capabilities) => boolean]
  >) {
    const present = typeof provider[method] === "function";
    if (declared(capabilities) && !present) {
      errors.push(`the capabilities declare ${method} but the provider does not implement it`);
    } else if (!declared(capabilities) && present) {
      warnings.push(
        `${method} is implemented but its capability is not declared; calls answer UNSUPPORTED`,
      );
    }
  }
  const consoles = capabilities.consoleKinds.length > 0;
  if (consoles && typeof provider.console !== "function") {
    errors.push(
      "the capabilities declare console_kinds but the provider does not implement console",
    );
  } else if (!consoles && typeof provider.console === "function") {
    warnings.push("console is implemented but console_kinds is empty; calls answer UNSUPPORTED");
  }
  if (capabilities.memorySnapshots && !capabilities.snapshots) {
    errors.push("memory_snapshots is declared without snapshots");
  }
  if (capabilities.diskExportFromSnapshot && !capabilities.snapshots) {
    errors.push("disk_export_from_snapshot is declared without snapshots");
  }
  if (capabilities.diskExportFromSnapshot && !exportsDisks(capabilities)) {
    errors.push("disk_export_from_snapshot is declared without disk_export_formats");
  }
  // Changed ranges are offsets of a RAW file, counted from a snapshot.
  if (
    capabilities.diskExportChangedRanges &&
    (!capabilities.snapshots || !capabilities.diskExportFormats.includes(ImageFormat.RAW))
  ) {
    errors.push("disk_export_changed_ranges is declared without snapshots or a RAW export format");
  }
  if (capabilities.diskImportRewrites && !capabilities.diskImportFormats.length) {
    errors.push("disk_import_rewrites is declared without disk_import_formats");
  }
  return { errors, warnings };
}

function enumName(schema: DescEnum, value: number): string {
  return schema.values.find((v) => v.number === value)?.name ?? String(value);
}

function undeclaredValue<T extends number>(
  value: T,
  declared: readonly T[],
  schema: DescEnum,
  what: string,
): string | undefined {
  if (value === 0 || declared.includes(value)) return undefined;
  return `${what} ${enumName(schema, value)} is not supported by this provider`;
}

const sourceKind: Record<NonNullable<ImageSource["source"]["case"]>, ImageSourceKind> = {
  template: ImageSourceKind.TEMPLATE,
  path: ImageSourceKind.PATH,
  url: ImageSourceKind.URL,
  importedDisk: ImageSourceKind.IMPORTED_DISK,
};

function undeclaredSource(image: ImageSource | undefined, c: Capabilities): string | undefined {
  const which = image?.source.case;
  if (!which) return undefined;
  if (which === "importedDisk") {
    return importsDisks(c) ? undefined : "imported disks are not supported by this provider";
  }
  if (c.imageSources.includes(sourceKind[which])) return undefined;
  return `images from a ${which} are not supported by this provider`;
}

function undeclaredInCreate(r: CreateRequest, c: Capabilities): string | undefined {
  return (
    undeclaredSource(r.image, c) ??
    undeclaredValue<Firmware>(
      r.class?.firmware ?? 0,
      c.firmwareTypes,
      FirmwareSchema,
      "firmware",
    ) ??
    r.disks
      .map(
        (d) =>
          undeclaredValue<DiskType>(d.type, c.diskTypes, DiskTypeSchema, "disk type") ??
          undeclaredSource(d.source, c),
      )
      .find(Boolean) ??
    r.networks
      .map((n) =>
        undeclaredValue<NetworkType>(n.type, c.networkTypes, NetworkTypeSchema, "network type"),
      )
      .find(Boolean)
  );
}

/**
 * Says what a request asks for that the capabilities do not declare, or
 * undefined when everything it asks for is declared.
 */
export function findUndeclared(
  method: ProviderMethodName,
  request: unknown,
  c: Capabilities,
): string | undefined {
  if (method in capabilityOfMethod && !capabilityOfMethod[method as OptionalMethodName](c)) {
    return `${method} is not supported by this provider`;
  }
  if (
    (method === "diskExportShare" && !c.diskExportShare) ||
    (method === "diskImportPull" && !c.diskImportPull)
  )
    return `${method} is not supported by this provider`;
  switch (method) {
    case "create":
      return undeclaredInCreate(request as ProviderRequest<"create">, c);
    case "power": {
      const r = request as ProviderRequest<"power">;
      return r.operation === PowerOperation.SUSPEND && !c.suspend
        ? "suspend is not supported by this provider"
        : undefined;
    }
    case "snapshotCreate":
      return (request as ProviderRequest<"snapshotCreate">).includeMemory && !c.memorySnapshots
        ? "memory snapshots are not supported by this provider"
        : undefined;
    case "clone": {
      const { type } = request as ProviderRequest<"clone">;
      if (type === CloneType.FULL && !c.fullClones)
        return "full clones are not supported by this provider";
      if (type === CloneType.LINKED && !c.linkedClones)
        return "linked clones are not supported by this provider";
      return undefined;
    }
    case "imagePrepare":
      return undeclaredSource((request as ProviderRequest<"imagePrepare">).source, c);
    case "diskExportBegin": {
      const r = request as ProviderRequest<"diskExportBegin">;
      if (r.snapshotId !== "" && !c.diskExportFromSnapshot) {
        return "exporting a disk from a snapshot is not supported by this provider";
      }
      if (r.changedSinceSnapshotId !== "" && !c.diskExportChangedRanges) {
        return "exporting the ranges changed since a snapshot is not supported by this provider";
      }
      return undeclaredValue<ImageFormat>(
        r.format,
        c.diskExportFormats,
        ImageFormatSchema,
        "export format",
      );
    }
    case "diskImportCommit":
      return (request as ProviderRequest<"diskImportCommit">).sha256 !== "" && !c.diskImportRewrites
        ? "committing an import under a new SHA-256 is not supported by this provider"
        : undefined;
    case "diskImportBegin":
      return undeclaredValue<ImageFormat>(
        (request as ProviderRequest<"diskImportBegin">).format,
        c.diskImportFormats,
        ImageFormatSchema,
        "import format",
      );
    default:
      return undefined;
  }
}
