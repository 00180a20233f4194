import { describe, expect, it } from "@jest/globals";
import { XMLParser } from "fast-xml-parser";
import { fixture } from "../../test/fixtures.js";
import type {
  VirtualDisk,
  VirtualDiskFlatVer2BackingInfo,
  VirtualMachineConfigSpec,
} from "../gen/vim-types.js";
import { xsdValue } from "../vim/encode.js";
import { buildEnvelope, readResponse } from "./envelope.js";
import {
  DuplicateNameError,
  FileAlreadyExistsError,
  InvalidArgumentError,
  InvalidLoginError,
  InvalidStateError,
  ManagedObjectNotFoundError,
  NoPermissionError,
  NotAuthenticatedError,
  TaskInProgressError,
  VimFault,
  VimProtocolError,
} from "./faults.js";

const vm = { type: "VirtualMachine", value: "vm-1" };
const hostile = `web</name><evil xmlns="x">&amp;"'\n]]>`;

/** Parses an envelope back, to read what the server would read. */
function parse(xml: string): Record<string, unknown> {
  return new XMLParser({ ignoreAttributes: false, parseTagValue: false, trimValues: false }).parse(
    xml,
    true,
  ) as Record<string, unknown>;
}

function body(xml: string, method: string): Record<string, unknown> {
  const envelope = parse(xml)["soapenv:Envelope"] as Record<string, Record<string, unknown>>;
  return envelope["soapenv:Body"]?.[method] as Record<string, unknown>;
}

describe("buildEnvelope", () => {
  it("escapes hostile strings in arguments, so they arrive as the same text", () => {
    const xml = buildEnvelope("CloneVM_Task", vm, {
      folder: { type: "Folder", value: `group-v3"><x>` },
      name: hostile,
      spec: { location: {}, template: false, powerOn: false },
    });
    expect(xml).not.toContain("<evil");
    const clone = body(xml, "CloneVM_Task");
    expect(clone["name"]).toBe(hostile);
    expect(clone["folder"]).toEqual({ "#text": `group-v3"><x>`, "@_type": "Folder" });
  });

  it("escapes the password of a Login", () => {
    const xml = buildEnvelope(
      "Login",
      { type: "SessionManager", value: "SessionManager" },
      {
        userName: "admin@vsphere.local",
        password: `p&<w>'"`,
      },
    );
    expect(xml).toContain("<password>p&amp;&lt;w&gt;&apos;&quot;</password>");
    expect(body(xml, "Login")["password"]).toBe(`p&<w>'"`);
  });

  it("refuses characters XML cannot carry rather than sending them", () => {
    expect(() => buildEnvelope("FindChild", vm, { entity: vm, name: "a\u0001b" })).toThrow(
      RangeError,
    );
  });

  it("writes fields in schema order and xsi:type for subtypes of the declared type", () => {
    const spec: VirtualMachineConfigSpec = {
      // Given out of order on purpose: the schema's order wins.
      deviceChange: [
        {
          operation: "add",
          fileOperation: "create",
          device: {
            _type: "VirtualDisk",
            key: -1,
            controllerKey: 1000,
            unitNumber: 1,
            capacityInKB: 1048576,
            backing: {
              _type: "VirtualDiskFlatVer2BackingInfo",
              fileName: "",
              diskMode: "persistent",
              thinProvisioned: true,
            } as VirtualDiskFlatVer2BackingInfo,
          } as VirtualDisk,
        },
      ],
      memoryMB: 2048,
      numCPUs: 2,
      extraConfig: [
        { key: "guestinfo.userdata", value: "I2Nsb3VkLWNvbmZpZw==" },
        { key: "disk.enableUUID", value: xsdValue("boolean", true) },
      ],
    };
    const xml = buildEnvelope("ReconfigVM_Task", vm, { spec });
    expect(xml.indexOf("<numCPUs>")).toBeLessThan(xml.indexOf("<memoryMB>"));
    expect(xml.indexOf("<memoryMB>")).toBeLessThan(xml.indexOf("<deviceChange>"));
    expect(xml.indexOf("<deviceChange>")).toBeLessThan(xml.indexOf("<extraConfig>"));
    expect(xml).toContain('<device xsi:type="VirtualDisk"><key>-1</key>');
    expect(xml).toContain(
      '<backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName></fileName>',
    );
    // The VirtualDevice fields come before the VirtualDisk ones.
    expect(xml.indexOf("<unitNumber>")).toBeLessThan(xml.indexOf("<capacityInKB>"));
    expect(xml).toContain('<value xsi:type="xsd:string">I2Nsb3VkLWNvbmZpZw==</value>');
    expect(xml).toContain('<value xsi:type="xsd:boolean">true</value>');
  });

  it("refuses unknown fields, wrong types and a _type that is no subtype", () => {
    expect(() => buildEnvelope("ReconfigVM_Task", vm, { spec: { numCPU: 2 } })).toThrow(
      /has no field numCPU/,
    );
    expect(() => buildEnvelope("ReconfigVM_Task", vm, { spec: { numCPUs: "2" } })).toThrow(
      /must be an integer/,
    );
    expect(() =>
      buildEnvelope("ReconfigVM_Task", vm, {
        spec: { deviceChange: [{ operation: "add", device: { _type: "OptionValue", key: "k" } }] },
      }),
    ).toThrow(/OptionValue is not a VirtualDevice/);
    expect(() => buildEnvelope("PowerOnVM_Task", vm, { force: true })).toThrow(
      /no parameter force/,
    );
  });
});

describe("readResponse", () => {
  it("decodes polymorphic values by xsi:type: devices, option values, references", () => {
    const result = readResponse("RetrievePropertiesEx", fixture("retrieve-template"), 200) as {
      objects: Array<{ obj: unknown; propSet: Array<{ name: string; val: unknown }> }>;
    };
    const props = Object.fromEntries(result.objects[0]!.propSet.map((p) => [p.name, p.val]));
    expect(props["name"]).toBe("vrtg-template");
    expect(props["runtime.powerState"]).toBe("poweredOff");
    const devices = props["config.hardware.device"] as Array<Record<string, unknown>>;
    const disk = devices.find((d) => d["_type"] === "VirtualDisk");
    expect(disk).toMatchObject({
      capacityInKB: 10485760,
      backing: { _type: "VirtualDiskFlatVer2BackingInfo", thinProvisioned: true },
    });
    const nic = devices.find((d) => d["_type"] === "VirtualVmxnet3");
    expect(nic).toMatchObject({
      backing: { _type: "VirtualEthernetCardNetworkBackingInfo", deviceName: "VM Network" },
    });
    expect(typeof nic?.["key"]).toBe("number");
    const snapshot = props["snapshot"] as { rootSnapshotList: Array<Record<string, unknown>> };
    expect(snapshot.rootSnapshotList[0]).toMatchObject({
      _type: "VirtualMachineSnapshotTree",
      name: "base",
      snapshot: { type: "VirtualMachineSnapshot" },
    });
  });

  it("reads a task's error into the typed fault", () => {
    const result = readResponse(
      "RetrievePropertiesEx",
      fixture("vcenter-task-info-invalid-power-state"),
      200,
    ) as { objects: Array<{ propSet: Array<{ val: { error: { fault: unknown } } }> }> };
    expect(result.objects[0]?.propSet[0]?.val.error.fault).toEqual({
      _type: "InvalidPowerState",
      requestedState: "poweredOff",
      existingState: "poweredOn",
      faultMessage: [],
    });
  });

  it("throws VimProtocolError for an answer that is not SOAP", () => {
    expect(() => readResponse("CurrentTime", "<html>proxy error</html>", 502)).toThrow(
      VimProtocolError,
    );
    expect(() => readResponse("CurrentTime", "not xml <", 200)).toThrow(VimProtocolError);
  });
});

describe("SOAP faults", () => {
  const cases: Array<[string, string, new (...args: never[]) => VimFault, string]> = [
    ["fault-invalid-login", "Login", InvalidLoginError, "InvalidLogin"],
    [
      "fault-managed-object-not-found",
      "RetrievePropertiesEx",
      ManagedObjectNotFoundError,
      "ManagedObjectNotFound",
    ],
    ["fault-invalid-argument", "TerminateSession", InvalidArgumentError, "InvalidArgument"],
    ["fault-power-on-template", "PowerOnVM_Task", InvalidStateError, "InvalidState"],
    [
      "vcenter-fault-not-authenticated",
      "RetrievePropertiesEx",
      NotAuthenticatedError,
      "NotAuthenticated",
    ],
    ["vcenter-fault-task-in-progress", "ReconfigVM_Task", TaskInProgressError, "TaskInProgress"],
    ["vcenter-fault-duplicate-name", "CloneVM_Task", DuplicateNameError, "DuplicateName"],
    [
      "vcenter-fault-file-already-exists",
      "CreateVM_Task",
      FileAlreadyExistsError,
      "FileAlreadyExists",
    ],
    // No class of its own, nor has any base type of it (InvalidVmConfig, VmConfigFault).
    ["vcenter-fault-invalid-device-spec", "ReconfigVM_Task", VimFault, "InvalidDeviceSpec"],
  ];

  it.each(cases)("%s (an answer to %s) decodes to %p", (file, method, Class, type) => {
    let thrown: unknown;
    try {
      readResponse(method, fixture(file), 500);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Class);
    expect((thrown as VimFault).faultType).toBe(type);
    expect((thrown as VimFault).name).toBe(Class.name);
  });

  it("keeps the fault's fields and its place in the hierarchy", () => {
    const error = (() => {
      try {
        readResponse("CloneVM_Task", fixture("vcenter-fault-duplicate-name"), 500);
      } catch (err) {
        return err as DuplicateNameError;
      }
      throw new Error("no fault");
    })();
    expect(error.fault).toMatchObject({ name: "web <1> & co", object: { value: "vm-1042" } });
    expect(error.message).toBe("The name 'web <1> & co' already exists.");

    const notAuthenticated = (() => {
      try {
        readResponse("RetrievePropertiesEx", fixture("vcenter-fault-not-authenticated"), 500);
      } catch (err) {
        return err as NotAuthenticatedError;
      }
      throw new Error("no fault");
    })();
    expect(notAuthenticated.is("NoPermission")).toBe(true);
    expect(notAuthenticated.is("SecurityError")).toBe(true);
    expect(notAuthenticated).not.toBeInstanceOf(NoPermissionError);

    const inProgress = (() => {
      try {
        readResponse("ReconfigVM_Task", fixture("vcenter-fault-task-in-progress"), 500);
      } catch (err) {
        return err as TaskInProgressError;
      }
      throw new Error("no fault");
    })();
    expect(inProgress.task).toEqual({ type: "Task", value: "task-1043" });

    let deviceSpec: unknown;
    try {
      readResponse("ReconfigVM_Task", fixture("vcenter-fault-invalid-device-spec"), 500);
    } catch (err) {
      deviceSpec = err;
    }
    expect((deviceSpec as VimFault).is("VmConfigFault")).toBe(true);
    expect((deviceSpec as VimFault).fault).toMatchObject({ deviceIndex: 1 });
  });
});
