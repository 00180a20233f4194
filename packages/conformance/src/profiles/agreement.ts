import { PowerOperation, PowerState } from "@virtrigaud/contracts";
import { checkListAgreesWithDescribe, waitForAddresses } from "../suite/agreement.js";
import { expectSuccess } from "../suite/checks.js";
import type { CaseContext, ConformanceCase, Profile } from "../suite/types.js";

export const agreementProfile: Profile = {
  name: "agreement",
  description:
    "ListVMs and Describe report the same name, power state, resources, labels, tags, addresses and address sources, off, on, suspended when declared, and after Reconfigure",
  declared: () => true,
};

/** A VM with something to report in every fact: labels, tags, a data disk, the run's network. */
const described = {
  labels: { role: "agreement", tier: "web" },
  tags: ["vcts", "agreement"],
  disks: [{ name: "data", sizeGib: 1 }],
};

async function power(t: CaseContext, vmId: string, operation: PowerOperation, state: PowerState) {
  await t.runTask(
    t.client.power({ vmId, operation }, { signal: t.signal }),
    `Power ${PowerOperation[operation]}`,
  );
  await t.eventually(
    vmId,
    `the VM is ${PowerState[state]} after Power ${PowerOperation[operation]}`,
    (vm) => vm.powerState === state,
  );
}

export const agreementCases: ConformanceCase[] = [
  {
    id: "agreement/stopped",
    profile: "agreement",
    title: "ListVMs and Describe agree on a VM that is off, with labels, tags and a data disk",
    async run(t) {
      const vmId = await t.createVm("stopped", described);
      await t.eventually(vmId, "the new VM is off", (vm) => vm.powerState === PowerState.OFF);
      await checkListAgreesWithDescribe(t, vmId, "off");
    },
  },
  {
    id: "agreement/power-states",
    profile: "agreement",
    title:
      "ListVMs and Describe agree on a running VM (addresses included, waited for on a network), a suspended one when suspend is declared, and one powered off again",
    async run(t) {
      const vmId = await t.createVm("power", { ...described, powerOn: true });
      await t.eventually(
        vmId,
        "the VM created with power_on is on",
        (vm) => vm.powerState === PowerState.ON,
      );
      // On a network, a guest gets addresses: give it the settle time to, so they are compared.
      if (t.network) await waitForAddresses(t, vmId);
      await checkListAgreesWithDescribe(t, vmId, "running");
      if (t.capabilities.suspend) {
        await power(t, vmId, PowerOperation.SUSPEND, PowerState.SUSPENDED);
        await checkListAgreesWithDescribe(t, vmId, "suspended");
        await power(t, vmId, PowerOperation.ON, PowerState.ON);
        await checkListAgreesWithDescribe(t, vmId, "resumed");
      }
      await power(t, vmId, PowerOperation.OFF, PowerState.OFF);
      await checkListAgreesWithDescribe(t, vmId, "powered off");
    },
  },
  {
    id: "agreement/reconfigured",
    profile: "agreement",
    title:
      "ListVMs and Describe agree after Reconfigure: memory and a disk grown while off, CPU on the running VM (live or pending)",
    async run(t) {
      const vmId = await t.createVm("reconf", described);
      await t.runTask(
        t.client.reconfigure(
          { vmId, memoryMib: 512, disks: [{ name: "data", sizeGib: 2 }] },
          { signal: t.signal },
        ),
        "Reconfigure while off",
      );
      await t.eventually(
        vmId,
        "Describe shows 512 MiB and a 2 GiB data disk",
        (vm) =>
          vm.resources?.memoryMib === 512 &&
          vm.resources.disks.some((d) => d.name === "data" && d.sizeGib === 2),
      );
      await checkListAgreesWithDescribe(t, vmId, "after Reconfigure while off");
      await power(t, vmId, PowerOperation.ON, PowerState.ON);
      const { task, powerCycleRequired } = await expectSuccess(
        t.client.reconfigure({ vmId, cpu: 2 }, { signal: t.signal }),
        "Reconfigure of the running VM",
      );
      await expectSuccess(t.wait(task), "the task of Reconfigure of the running VM");
      t.log(powerCycleRequired ? "cpu 2 waits for a power cycle" : "cpu 2 applied live");
      await checkListAgreesWithDescribe(t, vmId, "after Reconfigure of the running VM");
    },
  },
];
