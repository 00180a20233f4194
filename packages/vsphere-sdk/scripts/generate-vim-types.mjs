#!/usr/bin/env node
// Generates src/gen/vim-types.ts, the vim25 subset this SDK speaks, from
// govmomi's vim25/types/types.go (Debian's golang-github-vmware-govmomi-dev,
// installed by tools/testbed/vcsim/setup.sh). govmomi's structs keep the
// field order of the vim25 XML schema, which SOAP requests must follow, and
// name each type's base type, which xsi:type polymorphism needs.
//
// Usage: node scripts/generate-vim-types.mjs [path/to/types.go]
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const typesDir = process.argv[2] ?? "/usr/share/gocode/src/github.com/vmware/govmomi/vim25/types";
const source = readFileSync(join(typesDir, "types.go"), "utf8");
const enums = new Set(
  [...readFileSync(join(typesDir, "enum.go"), "utf8").matchAll(/^type (\w+) string$/gm)].map(
    (m) => m[1],
  ),
);

// The data types and faults the SDK uses. Their base types come along.
const wantedTypes = [
  "ServiceContent",
  "AboutInfo",
  "UserSession",
  "LocalizedMethodFault",
  "LocalizableMessage",
  "KeyAnyValue",
  "DynamicProperty",
  "ObjectContent",
  "MissingProperty",
  "RetrieveResult",
  "RetrieveOptions",
  "PropertyFilterSpec",
  "PropertySpec",
  "ObjectSpec",
  "SelectionSpec",
  "TraversalSpec",
  "WaitOptions",
  "UpdateSet",
  "PropertyFilterUpdate",
  "ObjectUpdate",
  "PropertyChange",
  "MissingObject",
  "TaskInfo",
  "TaskReasonUser",
  "TaskReasonSystem",
  "TaskReasonSchedule",
  "TaskReasonAlarm",
  "OptionValue",
  "VirtualMachineConfigSpec",
  "VirtualMachineFileInfo",
  "VirtualDeviceConfigSpec",
  "VirtualDeviceConnectInfo",
  "Description",
  "VirtualDiskFlatVer2BackingInfo",
  "VirtualDiskSparseVer2BackingInfo",
  "VirtualDeviceDeviceBackingInfo",
  "VirtualEthernetCardNetworkBackingInfo",
  "VirtualEthernetCardDistributedVirtualPortBackingInfo",
  "VirtualEthernetCardOpaqueNetworkBackingInfo",
  "DistributedVirtualSwitchPortConnection",
  "VirtualDisk",
  "VirtualVmxnet3",
  "VirtualE1000",
  "VirtualE1000e",
  "VirtualPCNet32",
  "VirtualVmxnet2",
  "ParaVirtualSCSIController",
  "VirtualLsiLogicController",
  "VirtualLsiLogicSASController",
  "VirtualBusLogicController",
  "VirtualIDEController",
  "VirtualSATAController",
  "VirtualAHCIController",
  "VirtualPCIController",
  "VirtualCdrom",
  "VirtualMachineCloneSpec",
  "VirtualMachineRelocateSpec",
  "VirtualMachineRelocateSpecDiskLocator",
  "VirtualHardware",
  "GuestNicInfo",
  "NetIpConfigInfo",
  "NetIpConfigInfoIpAddress",
  "VirtualMachineSnapshotInfo",
  "VirtualMachineSnapshotTree",
  "DatastoreSummary",
  "ResourceAllocationInfo",
  "SharesInfo",
  "ResourceConfigSpec",
  // Faults.
  "MethodFault",
  "RuntimeFault",
  "VimFault",
  "InvalidArgument",
  "InvalidRequest",
  "ManagedObjectNotFound",
  "NotAuthenticated",
  "NoPermission",
  "SecurityError",
  "InvalidLogin",
  "InvalidPowerState",
  "InvalidState",
  "TaskInProgress",
  "FileAlreadyExists",
  "FileFault",
  "FileNotFound",
  "DuplicateName",
  "AlreadyExists",
  "NotFound",
  "NotSupported",
  "NotImplemented",
  "InvalidName",
  "RequestCanceled",
  "SystemError",
  "InvalidDeviceSpec",
  "InvalidDatastore",
  "InvalidDatastorePath",
  "ToolsUnavailable",
  "InvalidType",
  "InvalidProperty",
  "InvalidCollectorVersion",
  "Timedout",
  "InsufficientResourcesFault",
  "HostCommunication",
  "InvalidVmConfig",
  "VmConfigFault",
  "CannotCreateFile",
  "NoDiskSpace",
  "SnapshotFault",
  "InvalidSnapshotFormat",
  "TooManySnapshotLevels",
  "ConcurrentAccess",
  "InvalidFolder",
  "NotEnoughLicenses",
  "NoHost",
  "InvalidHostState",
  "MigrationFault",
  "ResourceInUse",
  "DisallowedOperationOnFailoverHost",
  "VAppConfigFault",
  "GuestOperationsFault",
  "NoPermissionOnHost",
  "RestrictedVersion",
  "HostConnectFault",
  "InvalidLocale",
  "NotSupportedHost",
  "InvalidController",
  "DeviceUnsupportedForVmVersion",
  "CustomizationFault",
  "OutOfBounds",
  "VmToolsUpgradeFault",
  "TaskInProgress",
  "InvalidEvent",
];

// Methods: the parameters after _this, in order, and what they return.
const wantedMethods = [
  "RetrieveServiceContent",
  "Login",
  "Logout",
  "TerminateSession",
  "SessionIsActive",
  "CurrentTime",
  "RetrievePropertiesEx",
  "ContinueRetrievePropertiesEx",
  "CancelRetrievePropertiesEx",
  "CreateFilter",
  "DestroyPropertyFilter",
  "WaitForUpdatesEx",
  "CancelWaitForUpdates",
  "CreatePropertyCollector",
  "DestroyPropertyCollector",
  "CreateContainerView",
  "DestroyView",
  "FindByInventoryPath",
  "FindChild",
  "CreateVM_Task",
  "CloneVM_Task",
  "ReconfigVM_Task",
  "PowerOnVM_Task",
  "PowerOffVM_Task",
  "SuspendVM_Task",
  "ResetVM_Task",
  "ShutdownGuest",
  "RebootGuest",
  "Destroy_Task",
  "CreateSnapshot_Task",
  "RemoveSnapshot_Task",
  "RevertToSnapshot_Task",
  "MarkAsTemplate",
  "MarkAsVirtualMachine",
  "CancelTask",
  "FindByUuid",
  "CreateFolder",
  "UnregisterVM",
  "MakeDirectory",
  "DeleteDatastoreFile_Task",
];

const structs = new Map();
for (const m of source.matchAll(/^type (\w+) struct \{\n([\s\S]*?)^\}/gm)) {
  const [, name, body] = m;
  let base;
  const fields = [];
  for (const line of body.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    if (/^\w+$/.test(t)) {
      base = t;
      continue;
    }
    const f = /^(\w+)\s+(\S+)\s+`xml:"([^"]*)"`/.exec(t);
    if (!f) throw new Error(`${name}: cannot read field: ${t}`);
    const [, , goType, tag] = f;
    const [xmlName, ...opts] = tag.split(",");
    fields.push({ xmlName, goType, omitempty: opts.includes("omitempty") });
  }
  structs.set(name, { base: base === "DynamicData" ? undefined : base, fields });
}
const aliases = new Map(
  [...source.matchAll(/^type (\w+) (\w+RequestType)$/gm)].map((m) => [m[1], m[2]]),
);

const primitives = {
  string: "string",
  bool: "boolean",
  int32: "int",
  int64: "long",
  int16: "short",
  int8: "byte",
  byte: "byte",
  float32: "float",
  float64: "double",
  "time.Time": "dateTime",
  AnyType: "anyType",
  ManagedObjectReference: "ManagedObjectReference",
};

/** Maps a Go field type to [xml type, isArray, isPointer]. */
function mapType(goType) {
  let t = goType;
  let array = false;
  let pointer = false;
  if (t === "[]byte") return ["base64Binary", false, false];
  if (t.startsWith("[]")) {
    array = true;
    t = t.slice(2);
  }
  if (t.startsWith("*")) {
    pointer = true;
    t = t.slice(1);
  }
  if (t.startsWith("Base") && structs.has(t.slice(4))) t = t.slice(4);
  if (primitives[t]) return [primitives[t], array, pointer];
  if (enums.has(t)) return ["string", array, pointer];
  if (structs.has(t)) return [t, array, pointer];
  // A type alias of a primitive, for example `type ID struct` is a struct; others are rare.
  throw new Error(`unknown Go type ${goType}`);
}

const included = new Set();
const include = (name) => {
  if (included.has(name)) return;
  const s = structs.get(name);
  if (!s) throw new Error(`no struct ${name}`);
  if (s.base) include(s.base);
  included.add(name);
};
wantedTypes.forEach(include);

const methodRows = [];
for (const method of wantedMethods) {
  const requestType = aliases.get(method);
  if (!requestType) throw new Error(`no request type for ${method}`);
  const req = structs.get(requestType);
  const params = req.fields
    .filter((f) => f.xmlName !== "_this")
    .map((f) => {
      const [xmlType, array] = mapType(f.goType);
      if (
        ![
          "string",
          "boolean",
          "int",
          "long",
          "ManagedObjectReference",
          "dateTime",
          "anyType",
        ].includes(xmlType)
      )
        include(xmlType);
      return `[${JSON.stringify(f.xmlName)}, ${JSON.stringify(xmlType)}${array ? ", true" : ""}]`;
    });
  const res = structs.get(`${method}Response`);
  const ret = res?.fields[0];
  let returns = "";
  if (ret) {
    const [xmlType, array] = mapType(ret.goType);
    returns = `, returns: [${JSON.stringify(xmlType)}${array ? ", true" : ""}]`;
  }
  methodRows.push(`  ${method}: { params: [${params.join(", ")}]${returns} },`);
}

const tsPrimitive = {
  string: "string",
  boolean: "boolean",
  int: "number",
  long: "number",
  short: "number",
  byte: "number",
  float: "number",
  double: "number",
  dateTime: "string",
  base64Binary: "string",
  anyType: "unknown",
  ManagedObjectReference: "ManagedObjectReference",
};
const tsType = (xmlType) => tsPrimitive[xmlType] ?? (included.has(xmlType) ? xmlType : "VimObject");

let out = `// Generated by scripts/generate-vim-types.mjs from govmomi 0.24.2's vim25/types. Do not edit.
// The vim25 data types, faults and methods this SDK speaks, in the field order of the
// vim25 XML schema.
/* eslint-disable */
import type { DataTypeInfo, MethodInfo } from "../vim/type-info.js";

/** A managed object reference: the type and id of a server-side object. */
export interface ManagedObjectReference {
  type: string;
  value: string;
}

/** Any vim25 data object; \`_type\` names its type (its xsi:type). */
export interface VimObject {
  _type?: string;
  [field: string]: unknown;
}

`;
const table = [];
for (const name of included) {
  const s = structs.get(name);
  const fieldsTs = [];
  const fieldsTable = [];
  for (const f of s.fields) {
    const [xmlType, array, pointer] = mapType(f.goType);
    const optional = array || pointer || f.omitempty || xmlType === "anyType";
    const t = tsType(xmlType);
    fieldsTs.push(
      `  ${f.xmlName}${optional ? "?" : ""}: ${array ? `${t.includes(" ") ? `(${t})` : t}[]` : t};`,
    );
    fieldsTable.push(
      `[${JSON.stringify(f.xmlName)}, ${JSON.stringify(xmlType)}${array ? ", true" : ""}]`,
    );
  }
  const ext = s.base ? s.base : "VimDataObject";
  out += `export interface ${name} extends ${ext} {\n${fieldsTs.join("\n")}\n}\n\n`;
  table.push(
    `  ${name}: { ${s.base ? `base: ${JSON.stringify(s.base)}, ` : ""}fields: [${fieldsTable.join(", ")}] },`,
  );
}
out = out.replace(
  "/** A managed object reference",
  `/** What every data object has: its type name, set on decoded objects and used as xsi:type. */
export interface VimDataObject {
  _type?: string;
}

/** A managed object reference`,
);
out += `/** The data types above: base type and fields in schema order. */
export const dataTypes: Record<string, DataTypeInfo> = {
${table.join("\n")}
};

`;
out += `/** The methods: parameters after _this in order, and the return type. */
export const methods: Record<string, MethodInfo> = {
${methodRows.join("\n")}
};
`;
writeFileSync(join(here, "../src/gen/vim-types.ts"), out);
console.log(`wrote ${included.size} data types and ${wantedMethods.length} methods`);
