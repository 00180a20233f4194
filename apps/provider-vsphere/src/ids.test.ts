import { describe, expect, it } from "@jest/globals";
import { isIdText, taskIdKind, vsphereTaskRef } from "./ids.js";

describe("taskIdKind", () => {
  it("routes the provider's own task ids to its task tracker", () => {
    expect(taskIdKind("vrtg-0f6c8a4e-1b2c-4d3e-8f90-a1b2c3d4e5f6")).toBe("provider");
  });

  it("routes vSphere task morefs to vCenter, also ones that merely start like the provider's", () => {
    expect(taskIdKind("task-123")).toBe("vsphere");
    expect(taskIdKind("vrtg-not-a-uuid")).toBe("vsphere");
    expect(taskIdKind("haTask-ha-host-vim.VirtualMachine.powerOn-42")).toBe("vsphere");
  });

  it("routes nothing else anywhere", () => {
    for (const id of [
      "",
      "-task",
      "task 1",
      "task/1",
      "a".repeat(129),
      "<task>",
      "session[52a1]task-9",
    ]) {
      expect(taskIdKind(id)).toBeUndefined();
    }
  });

  it("answers a vSphere task's reference with its moref value", () => {
    expect(vsphereTaskRef({ type: "Task", value: "task-7" })).toEqual({ id: "task-7" });
  });
});

describe("isIdText", () => {
  it("takes 1 to 256 printable ASCII characters without spaces", () => {
    expect(isIdText("7d1c6a8e-0000-4000-8000-000000000001")).toBe(true);
    expect(isIdText("before-upgrade_2")).toBe(true);
    expect(isIdText("x".repeat(256))).toBe(true);
    expect(isIdText("")).toBe(false);
    expect(isIdText("x".repeat(257))).toBe(false);
    expect(isIdText("two words")).toBe(false);
    expect(isIdText("naïve")).toBe(false);
  });
});
