import { describe, expect, it } from "@jest/globals";
import { ErrorReason } from "@virtrigaud/contracts";
import type { TaskInfo } from "@virtrigaud/vsphere-sdk";
import { taskOfInfo } from "./get-task.js";

const info = (fields: Partial<TaskInfo>): TaskInfo => ({
  key: "task-9",
  task: { type: "Task", value: "task-9" },
  descriptionId: "VirtualMachine.powerOn",
  entityName: "web-1",
  state: "running",
  cancelled: false,
  cancelable: false,
  reason: { _type: "TaskReasonUser" },
  queueTime: "2024-01-01T00:00:00Z",
  eventChainId: 1,
  ...fields,
});

describe("taskOfInfo", () => {
  it("reports a running vSphere task's progress and what it does", () => {
    expect(taskOfInfo("task-9", info({ progress: 40 }))).toEqual({
      id: "task-9",
      done: false,
      progressPercent: 40,
      description: "VirtualMachine.powerOn web-1",
    });
  });

  it("reports a finished task at 100%", () => {
    expect(taskOfInfo("task-9", info({ state: "success" }))).toMatchObject({
      done: true,
      progressPercent: 100,
    });
  });

  it("reports a failed task's fault as the contract's error", () => {
    const task = taskOfInfo(
      "task-9",
      info({
        state: "error",
        progress: 10,
        error: {
          _type: "LocalizedMethodFault",
          fault: { _type: "InvalidPowerState" },
          localizedMessage: "The attempted operation cannot be performed in the current state",
        },
      }),
    );
    expect(task).toMatchObject({
      done: true,
      progressPercent: 10,
      error: {
        reason: ErrorReason.CONFLICT,
        message: "The attempted operation cannot be performed in the current state",
      },
    });
  });
});
