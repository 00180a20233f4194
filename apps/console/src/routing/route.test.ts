import { describe, expect, it } from "@jest/globals";
import { parseRoute, pathOf } from "./route";

describe("the console's routes", () => {
  it.each([
    ["/console/", { page: "fleet" }],
    ["/console/vms/team-a/db-1", { page: "vm", namespace: "team-a", name: "db-1" }],
    ["/console/vms/team-a", { page: "fleet" }],
    ["/console/providers", { page: "providers" }],
    ["/console/providers/extra", { page: "fleet" }],
    ["/console/elsewhere", { page: "fleet" }],
  ] as const)("%s is %j", (path, route) => {
    expect(parseRoute(path)).toEqual(route);
  });

  it("round-trips a VM's page, escaping what a name may hold", () => {
    const route = { page: "vm", namespace: "default", name: "a b/c" } as const;
    expect(pathOf(route)).toBe("/console/vms/default/a%20b%2Fc");
    expect(parseRoute(pathOf(route))).toEqual(route);
  });

  it("round-trips the fleet and the providers", () => {
    for (const route of [{ page: "fleet" }, { page: "providers" }] as const)
      expect(parseRoute(pathOf(route))).toEqual(route);
  });
});
