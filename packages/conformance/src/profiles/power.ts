import { ErrorReason, PowerOperation, PowerState } from "@virtrigaud/contracts";
import { expectReason, expectSuccess } from "../suite/checks.js";
import type { CaseContext, ConformanceCase, Profile } from "../suite/types.js";

export const powerProfile: Profile = {
  name: "power",
  description:
    "On, off, reboot, graceful shutdown with a timeout falling back to hard off, suspend when declared",
  declared: () => true,
};

async function power(
  t: CaseContext,
  vmId: string,
  operation: PowerOperation,
  gracefulTimeoutSeconds = 0,
) {
  const { task } = await expectSuccess(
    t.client.power({ vmId, operation, gracefulTimeoutSeconds }, { signal: t.signal }),
    `Power ${PowerOperation[operation]}`,
  );
  await expectSuccess(t.wait(task), `the task of Power ${PowerOperation[operation]}`);
}

function isIn(state: PowerState) {
  return (vm: { powerState: PowerState }) => vm.powerState === state;
}

export const powerCases: ConformanceCase[] = [
  {
    id: "power/on-off",
    profile: "power",
    title: "Power on and off, each reflected by Describe; repeating one changes nothing",
    async run(t) {
      const vmId = await t.createVm("onoff");
      await power(t, vmId, PowerOperation.ON);
      await t.eventually(vmId, "the VM is on after Power ON", isIn(PowerState.ON));
      await power(t, vmId, PowerOperation.ON);
      await t.eventually(vmId, "the VM is still on after a second Power ON", isIn(PowerState.ON));
      await power(t, vmId, PowerOperation.OFF);
      await t.eventually(vmId, "the VM is off after Power OFF", isIn(PowerState.OFF));
      await power(t, vmId, PowerOperation.OFF);
      await t.eventually(
        vmId,
        "the VM is still off after a second Power OFF",
        isIn(PowerState.OFF),
      );
    },
  },
  {
    id: "power/reboot",
    profile: "power",
    title: "Reboot leaves a running VM running",
    async run(t) {
      const vmId = await t.createVm("reboot", { powerOn: true });
      await t.eventually(vmId, "the VM created with power_on is on", isIn(PowerState.ON));
      await power(t, vmId, PowerOperation.REBOOT);
      await t.eventually(vmId, "the VM is on after Reboot", isIn(PowerState.ON));
    },
  },
  {
    id: "power/shutdown",
    profile: "power",
    title:
      "Graceful shutdown ends with the VM off, powering off hard when the guest does not stop in time",
    async run(t) {
      const vmId = await t.createVm("shutdown", { powerOn: true });
      await t.eventually(vmId, "the VM created with power_on is on", isIn(PowerState.ON));
      // A short timeout: a guest that ignores ACPI (or has no OS) must be turned off hard.
      await power(t, vmId, PowerOperation.SHUTDOWN, 5);
      await t.eventually(
        vmId,
        "the VM is off after SHUTDOWN with a 5 s timeout",
        isIn(PowerState.OFF),
      );
    },
  },
  {
    id: "power/suspend",
    profile: "power",
    title: "Suspend and resume, when declared",
    declared: (c) => c.suspend,
    async run(t) {
      const vmId = await t.createVm("suspend", { powerOn: true });
      await t.eventually(vmId, "the VM created with power_on is on", isIn(PowerState.ON));
      await power(t, vmId, PowerOperation.SUSPEND);
      await t.eventually(vmId, "the VM is suspended after SUSPEND", isIn(PowerState.SUSPENDED));
      await power(t, vmId, PowerOperation.ON);
      await t.eventually(vmId, "the VM runs again after Power ON", isIn(PowerState.ON));
    },
    async unsupported(t) {
      const vmId = await t.createVm("suspend", { powerOn: true });
      await expectReason(
        t.client.power({ vmId, operation: PowerOperation.SUSPEND }, { signal: t.signal }),
        [ErrorReason.UNSUPPORTED],
        "SUSPEND when suspend is not declared",
      );
    },
  },
];
