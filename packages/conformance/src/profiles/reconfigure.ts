import { ErrorReason, PowerOperation, PowerState, ProviderError } from "@virtrigaud/contracts";
import { check, checkEqual, expectReason, expectSuccess } from "../suite/checks.js";
import type { ConformanceCase, Profile } from "../suite/types.js";

export const reconfigureProfile: Profile = {
  name: "reconfigure",
  description:
    "CPU and memory while off, online when declared, disk grow (online when declared), power cycle reported when needed",
  declared: () => true,
};

export const reconfigureCases: ConformanceCase[] = [
  {
    id: "reconfigure/offline",
    profile: "reconfigure",
    title: "CPU and memory change on a VM that is off, and Describe shows them",
    async run(t) {
      const vmId = await t.createVm("offline");
      const { task, powerCycleRequired } = await expectSuccess(
        t.client.reconfigure({ vmId, cpu: 2, memoryMib: 512 }, { signal: t.signal }),
        "Reconfigure",
      );
      await t.wait(task);
      check(
        !powerCycleRequired,
        "a VM that is off should not need a power cycle to take new CPU and memory",
      );
      await t.eventually(
        vmId,
        "Describe shows cpu 2 and 512 MiB",
        (vm) => vm.resources?.cpu === 2 && vm.resources.memoryMib === 512,
      );
    },
  },
  {
    id: "reconfigure/online",
    profile: "reconfigure",
    title:
      "CPU and memory on a running VM: applied live when online reconfigure is declared, else reported as needing a power cycle",
    async run(t) {
      const vmId = await t.createVm("online", { powerOn: true, class: { cpu: 1, memoryMib: 256 } });
      await t.eventually(vmId, "the VM is on", (vm) => vm.powerState === PowerState.ON);
      const { task, powerCycleRequired } = await expectSuccess(
        t.client.reconfigure({ vmId, cpu: 2 }, { signal: t.signal }),
        "Reconfigure of a running VM",
      );
      await t.wait(task);
      if (t.capabilities.onlineReconfigure) {
        check(
          !powerCycleRequired,
          "online_reconfigure is declared, yet a running VM needs a power cycle",
        );
        await t.eventually(
          vmId,
          "Describe shows cpu 2 on the running VM",
          (vm) => vm.resources?.cpu === 2,
        );
      } else {
        check(
          powerCycleRequired,
          "online_reconfigure is not declared, yet the response does not ask for a power cycle",
        );
        t.log("online reconfigure not declared: the power cycle is required, as reported");
        await t.wait(
          (await t.client.power({ vmId, operation: PowerOperation.OFF }, { signal: t.signal }))
            .task,
        );
        await t.wait(
          (await t.client.power({ vmId, operation: PowerOperation.ON }, { signal: t.signal })).task,
        );
        await t.eventually(
          vmId,
          "Describe shows cpu 2 after the power cycle",
          (vm) => vm.resources?.cpu === 2,
        );
      }
    },
  },
  {
    id: "reconfigure/disk-grow",
    profile: "reconfigure",
    title: "A data disk grows; shrinking it is refused with INVALID_SPEC naming the field",
    async run(t) {
      const vmId = await t.createVm("disk", { disks: [{ name: "data", sizeGib: 1 }] });
      const { task } = await expectSuccess(
        t.client.reconfigure({ vmId, disks: [{ name: "data", sizeGib: 2 }] }, { signal: t.signal }),
        "Reconfigure to grow the data disk",
      );
      await t.wait(task);
      await t.eventually(vmId, "Describe shows the data disk at 2 GiB", (vm) =>
        Boolean(vm.resources?.disks.some((d) => d.name === "data" && d.sizeGib === 2)),
      );
      const error = await expectReason(
        t.client.reconfigure({ vmId, disks: [{ name: "data", sizeGib: 1 }] }, { signal: t.signal }),
        [ErrorReason.INVALID_SPEC],
        "shrinking a disk",
      );
      checkEqual(error.field, "disks[0].size_gib", "the field the shrink error names");
    },
  },
  {
    id: "reconfigure/online-disk-grow",
    profile: "reconfigure",
    title: "A data disk grows on a running VM, when online disk grow is declared",
    declared: (c) => c.onlineDiskGrow,
    async run(t) {
      const vmId = await t.createVm("livedisk", {
        powerOn: true,
        disks: [{ name: "data", sizeGib: 1 }],
      });
      await t.eventually(vmId, "the VM is on", (vm) => vm.powerState === PowerState.ON);
      const { task, powerCycleRequired } = await expectSuccess(
        t.client.reconfigure({ vmId, disks: [{ name: "data", sizeGib: 2 }] }, { signal: t.signal }),
        "Reconfigure to grow the disk of a running VM",
      );
      await t.wait(task);
      check(
        !powerCycleRequired,
        "online_disk_grow is declared, yet growing a disk needs a power cycle",
      );
      await t.eventually(vmId, "Describe shows the data disk at 2 GiB on the running VM", (vm) =>
        Boolean(vm.resources?.disks.some((d) => d.name === "data" && d.sizeGib === 2)),
      );
    },
    async unsupported(t) {
      const vmId = await t.createVm("livedisk", {
        powerOn: true,
        disks: [{ name: "data", sizeGib: 1 }],
      });
      await t.eventually(vmId, "the VM is on", (vm) => vm.powerState === PowerState.ON);
      // Not declared: the grow must wait for a power cycle, or be refused, and say which.
      const outcome = await t.client
        .reconfigure({ vmId, disks: [{ name: "data", sizeGib: 2 }] }, { signal: t.signal })
        .catch((e: unknown) => ProviderError.from(e));
      if (outcome instanceof ProviderError) {
        await expectReason(
          Promise.reject(outcome),
          [ErrorReason.UNSUPPORTED, ErrorReason.CONFLICT],
          "growing a disk of a running VM",
        );
      } else {
        await t.wait(outcome.task);
        check(
          outcome.powerCycleRequired,
          "online_disk_grow is not declared, yet growing a running VM's disk needs no power cycle",
        );
      }
    },
  },
];
