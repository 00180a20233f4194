import { describe, expect, it } from "@jest/globals";
import { parseRoute, pathOf } from "./route";

describe("the console's routes", () => {
  it.each([
    ["/console/", { page: "fleet" }],
    ["/console/vms/team-a/db-1", { page: "vm", namespace: "team-a", name: "db-1" }],
    ["/console/vms/team-a", { page: "fleet" }],
    ["/console/providers", { page: "providers" }],
    ["/console/providers/extra", { page: "fleet" }],
    ["/console/apply", { page: "apply" }],
    ["/console/migrations", { page: "migrations" }],
    [
      "/console/migrations/team-a/move-1",
      { page: "migration", namespace: "team-a", name: "move-1" },
    ],
    ["/console/migrations/team-a", { page: "fleet" }],
    ["/console/elsewhere", { page: "fleet" }],
  ] as const)("%s is %j", (path, route) => {
    expect(parseRoute(path)).toEqual(route);
  });

  it("round-trips a VM's page, escaping what a name may hold", () => {
    const route = { page: "vm", namespace: "default", name: "a b/c" } as const;
    expect(pathOf(route)).toBe("/console/vms/default/a%20b%2Fc");
    expect(parseRoute(pathOf(route))).toEqual(route);
  });

  it("round-trips a migration's page", () => {
    const route = { page: "migration", namespace: "default", name: "move 1" } as const;
    expect(pathOf(route)).toBe("/console/migrations/default/move%201");
    expect(parseRoute(pathOf(route))).toEqual(route);
  });

  it("round-trips the pages without parameters", () => {
    for (const route of [
      { page: "fleet" },
      { page: "providers" },
      { page: "apply" },
      { page: "migrations" },
    ] as const)
      expect(parseRoute(pathOf(route))).toEqual(route);
  });
});
