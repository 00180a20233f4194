import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { PowerState, VirtualMachinePhase, VirtualMachineSchema } from "@virtrigaud/proto/manager";
import { fleetRows, namespacesOf } from "./fleet-order";

const vm = (namespace: string, name: string, phase: VirtualMachinePhase, power: PowerState) =>
  create(VirtualMachineSchema, {
    metadata: { namespace, name },
    spec: { providerRef: { name: "mock" } },
    status: { phase, powerState: power, ips: ["10.0.0.1"] },
  });
const vms = [
  vm("team-a", "db-1", VirtualMachinePhase.RUNNING, PowerState.ON),
  vm("default", "web-2", VirtualMachinePhase.STOPPED, PowerState.OFF),
  vm("default", "web-1", VirtualMachinePhase.RUNNING, PowerState.ON),
];
const names = (rows: { key: string }[]) => rows.map((r) => r.key);

describe("the fleet's rows", () => {
  it("shows phases and power as manifests spell them, and an undeclared power as On", () => {
    const [row] = fleetRows(vms, { namespace: "team-a", sortBy: "name", descending: false });
    expect(row).toMatchObject({
      phase: "Running",
      power: "On",
      desiredPower: "On",
      provider: "mock",
      addresses: "10.0.0.1",
    });
  });

  it.each([
    ["name", false, ["team-a/db-1", "default/web-1", "default/web-2"]],
    ["name", true, ["default/web-2", "default/web-1", "team-a/db-1"]],
    // Ties fall back to namespace, then name.
    ["phase", false, ["default/web-1", "team-a/db-1", "default/web-2"]],
    ["power", false, ["default/web-2", "default/web-1", "team-a/db-1"]],
  ] as const)("sorts by %s (descending: %s)", (sortBy, descending, expected) => {
    expect(names(fleetRows(vms, { namespace: "", sortBy, descending }))).toEqual(expected);
  });

  it("keeps one namespace, and lists the namespaces there are", () => {
    expect(
      names(fleetRows(vms, { namespace: "default", sortBy: "name", descending: false })),
    ).toEqual(["default/web-1", "default/web-2"]);
    expect(namespacesOf(vms)).toEqual(["default", "team-a"]);
  });

  it("makes a VM's row once per version: a replaced message gets a new row, the others keep theirs", () => {
    const view = { namespace: "", sortBy: "name", descending: false } as const;
    const before = fleetRows(vms, view);
    const changed = vm("default", "web-2", VirtualMachinePhase.RUNNING, PowerState.ON);
    const after = fleetRows(
      [vms[0], changed, vms[2]].filter((v) => v !== undefined),
      view,
    );
    const byKey = (rows: typeof before, key: string) => rows.find((r) => r.key === key);
    expect(byKey(after, "team-a/db-1")).toBe(byKey(before, "team-a/db-1"));
    expect(byKey(after, "default/web-2")).not.toBe(byKey(before, "default/web-2"));
    expect(byKey(after, "default/web-2")).toMatchObject({ phase: "Running", power: "On" });
  });
});
