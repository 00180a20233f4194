import { CloneType, ErrorReason } from "@virtrigaud/contracts";
import { check, checkEqual, expectReason, expectSuccess } from "../suite/checks.js";
import type { CaseContext, ConformanceCase, Profile } from "../suite/types.js";

export const cloneProfile: Profile = {
  name: "clone",
  description:
    "Full clones live on independent of their source; linked clones when declared; idempotent by name",
  declared: (c) => c.fullClones || c.linkedClones,
};

async function clone(t: CaseContext, sourceVmId: string, type: CloneType, hint: string) {
  const name = t.name(hint);
  const { vmId, task } = await expectSuccess(
    t.client.clone({ sourceVmId, name, type }, { signal: t.signal }),
    `Clone ${CloneType[type]} as ${name}`,
  );
  check(vmId, "Clone returned no vm_id");
  t.track(vmId);
  await expectSuccess(t.wait(task), `the task of Clone ${name}`);
  return { vmId, name };
}

export const cloneCases: ConformanceCase[] = [
  {
    id: "clone/full",
    profile: "clone",
    title: "A full clone copies the source, is independent of it, and outlives it",
    declared: (c) => c.fullClones,
    async run(t) {
      const sourceId = await t.createVm("source", { class: { cpu: 2, memoryMib: 256 } });
      const copy = await clone(t, sourceId, CloneType.FULL, "full");
      const vm = await t.describe(copy.vmId);
      checkEqual(vm.name, copy.name, "the clone's name");
      checkEqual(vm.resources?.cpu, 2, "the clone's cpu");
      await t.wait(
        (await t.client.reconfigure({ vmId: sourceId, cpu: 1 }, { signal: t.signal })).task,
      );
      await t.eventually(sourceId, "the source shows cpu 1", (v) => v.resources?.cpu === 1);
      checkEqual(
        (await t.describe(copy.vmId)).resources?.cpu,
        2,
        "the clone's cpu after the source changed",
      );
      await t.runTask(
        t.client.delete({ vmId: sourceId }, { signal: t.signal }),
        "Delete of the source",
      );
      const after = await t.describe(copy.vmId);
      checkEqual(after.resources?.cpu, 2, "the clone's cpu after its source is gone");
    },
    async unsupported(t) {
      const sourceId = await t.createVm("source");
      await expectReason(
        t.client.clone(
          { sourceVmId: sourceId, name: t.name("full"), type: CloneType.FULL },
          { signal: t.signal },
        ),
        [ErrorReason.UNSUPPORTED],
        "a full Clone when full_clones is not declared",
      );
    },
  },
  {
    id: "clone/linked",
    profile: "clone",
    title: "A linked clone works and is deleted before its source",
    declared: (c) => c.linkedClones,
    async run(t) {
      const sourceId = await t.createVm("lsource");
      const linked = await clone(t, sourceId, CloneType.LINKED, "linked");
      await t.describe(linked.vmId);
      await t.runTask(
        t.client.delete({ vmId: linked.vmId }, { signal: t.signal }),
        "Delete of the linked clone",
      );
      await t.runTask(
        t.client.delete({ vmId: sourceId }, { signal: t.signal }),
        "Delete of the source",
      );
    },
    async unsupported(t) {
      const sourceId = await t.createVm("lsource");
      await expectReason(
        t.client.clone(
          { sourceVmId: sourceId, name: t.name("linked"), type: CloneType.LINKED },
          { signal: t.signal },
        ),
        [ErrorReason.UNSUPPORTED],
        "a linked Clone when linked_clones is not declared",
      );
    },
  },
  {
    id: "clone/idempotent",
    profile: "clone",
    title: "Clone twice with one name gives one VM",
    declared: (c) => c.fullClones || c.linkedClones,
    async run(t) {
      const type = t.capabilities.fullClones ? CloneType.FULL : CloneType.LINKED;
      const sourceId = await t.createVm("isource");
      const name = t.name("twin");
      const first = await expectSuccess(
        t.client.clone({ sourceVmId: sourceId, name, type }, { signal: t.signal }),
        "Clone",
      );
      t.track(first.vmId);
      const second = await expectSuccess(
        t.client.clone({ sourceVmId: sourceId, name, type }, { signal: t.signal }),
        "a second Clone",
      );
      t.track(second.vmId);
      checkEqual(second.vmId, first.vmId, "the vm_id of the second Clone");
      await t.wait(first.task);
      await t.wait(second.task);
      checkEqual(
        (await t.client.listVMs({ namePrefix: name }, { signal: t.signal })).vms.length,
        1,
        `VMs named ${name}`,
      );
    },
    async unsupported(t) {
      const sourceId = await t.createVm("isource");
      await expectReason(
        t.client.clone(
          { sourceVmId: sourceId, name: t.name("twin"), type: CloneType.FULL },
          { signal: t.signal },
        ),
        [ErrorReason.UNSUPPORTED],
        "Clone when no clone type is declared",
      );
    },
  },
];
