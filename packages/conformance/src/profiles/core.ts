import { ErrorReason, PowerOperation, ProviderError } from "@virtrigaud/contracts";
import { check, checkEqual, expectReason, expectSuccess } from "../suite/checks.js";
import { renderValue } from "../suite/render-value.js";
import type { ConformanceCase, Profile } from "../suite/types.js";

export const coreProfile: Profile = {
  name: "core",
  description:
    "Validate, create/describe/delete, idempotent create and delete, NOT_FOUND for unknown ids, paged ListVMs, tasks",
  declared: () => true,
};

const NOT_FOUND = [ErrorReason.NOT_FOUND];

export const coreCases: ConformanceCase[] = [
  {
    id: "core/validate",
    profile: "core",
    title: "Validate succeeds and GetCapabilities names the provider",
    async run(t) {
      await expectSuccess(t.client.validate({}, { signal: t.signal }), "Validate");
      check(t.capabilities.providerType, "GetCapabilities gives no provider_type");
      check(
        !t.capabilities.memorySnapshots || t.capabilities.snapshots,
        "memory_snapshots is declared without snapshots",
      );
    },
  },
  {
    id: "core/create-describe-delete",
    profile: "core",
    title: "Create makes a VM Describe and ListVMs report; Delete removes it",
    async run(t) {
      const name = t.name("vm");
      const { vmId, task } = await expectSuccess(
        t.client.create(t.vmRequest(name, { class: { cpu: 1, memoryMib: 256 } }), {
          signal: t.signal,
        }),
        "Create",
      );
      check(vmId, "Create returned no vm_id");
      t.track(vmId);
      await expectSuccess(t.wait(task), "the Create task");
      const vm = await t.describe(vmId);
      checkEqual(vm.id, vmId, "Describe's id");
      checkEqual(vm.name, name, "Describe's name");
      checkEqual(vm.resources?.cpu, 1, "Describe's cpu");
      checkEqual(vm.resources?.memoryMib, 256, "Describe's memory_mib");
      const listed = await expectSuccess(
        t.client.listVMs({ namePrefix: name }, { signal: t.signal }),
        "ListVMs",
      );
      checkEqual(
        listed.vms.map((v) => v.id),
        [vmId],
        `ListVMs with the prefix ${name}`,
      );
      const { task: deleting } = await expectSuccess(
        t.client.delete({ vmId }, { signal: t.signal }),
        "Delete",
      );
      await expectSuccess(t.wait(deleting), "the Delete task");
      const after = await expectSuccess(
        t.client.describe({ vmId }, { signal: t.signal }),
        "Describe after Delete",
      );
      check(!after.exists, `Describe still finds ${vmId} after its Delete finished`);
      const relisted = await t.client.listVMs({ namePrefix: name }, { signal: t.signal });
      checkEqual(relisted.vms.length, 0, "VMs ListVMs still lists after Delete");
    },
  },
  {
    id: "core/create-idempotent",
    profile: "core",
    title: "Create twice with one name gives one VM",
    async run(t) {
      const name = t.name("twice");
      const request = t.vmRequest(name);
      const first = await expectSuccess(
        t.client.create(request, { signal: t.signal }),
        "the first Create",
      );
      t.track(first.vmId);
      const second = await expectSuccess(
        t.client.create(request, { signal: t.signal }),
        "the second Create",
      );
      t.track(second.vmId);
      checkEqual(second.vmId, first.vmId, "the vm_id of the second Create");
      await t.wait(first.task);
      await t.wait(second.task);
      const third = await expectSuccess(
        t.client.create(request, { signal: t.signal }),
        "a Create after the task",
      );
      checkEqual(third.vmId, first.vmId, "the vm_id of a Create once the VM exists");
      const listed = await t.client.listVMs({ namePrefix: name }, { signal: t.signal });
      checkEqual(listed.vms.length, 1, `VMs named ${name}`);
    },
  },
  {
    id: "core/delete-missing",
    profile: "core",
    title: "Delete of a VM that no longer exists succeeds",
    async run(t) {
      const vmId = await t.createVm("gone");
      const { task } = await expectSuccess(
        t.client.delete({ vmId }, { signal: t.signal }),
        "Delete",
      );
      await t.wait(task);
      const again = await expectSuccess(
        t.client.delete({ vmId }, { signal: t.signal }),
        "a second Delete",
      );
      await expectSuccess(t.wait(again.task), "the task of a second Delete");
    },
  },
  {
    id: "core/not-found",
    profile: "core",
    title: "Calls on a VM that does not exist answer NOT_FOUND; Describe says it does not exist",
    async run(t) {
      const vmId = await t.createVm("vanished");
      await t.wait((await t.client.delete({ vmId }, { signal: t.signal })).task);
      const { exists } = await expectSuccess(
        t.client.describe({ vmId }, { signal: t.signal }),
        "Describe",
      );
      check(!exists, `Describe of the deleted ${vmId} says it exists`);
      await expectReason(
        t.client.power({ vmId, operation: PowerOperation.ON }, { signal: t.signal }),
        NOT_FOUND,
        "Power on a deleted VM",
      );
      await expectReason(
        t.client.reconfigure({ vmId, cpu: 2 }, { signal: t.signal }),
        NOT_FOUND,
        "Reconfigure of a deleted VM",
      );
      if (t.capabilities.snapshots) {
        await expectReason(
          t.client.snapshotList({ vmId }, { signal: t.signal }),
          NOT_FOUND,
          "SnapshotList of a deleted VM",
        );
      }
    },
  },
  {
    id: "core/list-paging",
    profile: "core",
    title: "ListVMs pages by name with a prefix filter",
    async run(t) {
      const prefix = t.name("page");
      const names = [`${prefix}-c`, `${prefix}-a`, `${prefix}-b`];
      for (const name of names) {
        const { vmId, task } = await expectSuccess(
          t.client.create(t.vmRequest(name), { signal: t.signal }),
          `Create ${name}`,
        );
        t.track(vmId);
        await t.wait(task);
      }
      const seen: string[] = [];
      let pageToken = "";
      for (let page = 0; page < 10; page++) {
        const result = await expectSuccess(
          t.client.listVMs({ namePrefix: prefix, pageSize: 1, pageToken }, { signal: t.signal }),
          `ListVMs page ${page + 1}`,
        );
        check(result.vms.length <= 1, `ListVMs with page_size 1 returned ${result.vms.length} VMs`);
        seen.push(...result.vms.map((vm) => vm.name));
        pageToken = result.nextPageToken;
        if (!pageToken) break;
      }
      checkEqual(seen, [...names].sort(), "the names across pages, in order");
      check(!pageToken, "ListVMs kept handing out page tokens");
    },
  },
  {
    id: "core/tasks",
    profile: "core",
    title:
      "Tasks reach done; unknown and malformed task references answer NOT_FOUND or INVALID_SPEC",
    async run(t) {
      const request = t.vmRequest(t.name("task"));
      const { vmId, task } = await expectSuccess(
        t.client.create(request, { signal: t.signal }),
        "Create",
      );
      t.track(vmId);
      if (task) {
        const done = await expectSuccess(t.wait(task), "waiting for the Create task");
        check(done?.done, "the Create task never reported done");
        check(!done?.error, `the Create task failed: ${renderValue(done?.error)}`);
      } else {
        t.log("Create finished synchronously (no task)");
      }
      for (const id of ["vcts-no-such-task", "task/../../etc/passwd"]) {
        await expectReason(
          t.client.getTask({ task: { id } }, { signal: t.signal }),
          [ErrorReason.NOT_FOUND, ErrorReason.INVALID_SPEC],
          `GetTask ${JSON.stringify(id)}`,
        );
      }
    },
  },
  {
    id: "core/typed-failures",
    profile: "core",
    title:
      "A Create the provider cannot carry out fails with a typed error, not INTERNAL, and leaves nothing",
    async run(t) {
      const name = t.name("bad-image");
      const outcome = await t.client
        .create(
          t.vmRequest(name, {
            image: { source: { case: "template", value: `${name}-no-such-template` } },
          }),
          {
            signal: t.signal,
          },
        )
        .then(async ({ vmId, task }) => {
          t.track(vmId);
          await t.wait(task);
          return undefined;
        })
        .catch((e: unknown) => ProviderError.from(e));
      check(outcome, "a Create from a template that does not exist succeeded");
      await expectReason(
        Promise.reject(outcome),
        [ErrorReason.INVALID_SPEC, ErrorReason.NOT_FOUND, ErrorReason.UNSUPPORTED],
        "Create from a template that does not exist",
      );
      const listed = await t.client.listVMs({ namePrefix: name }, { signal: t.signal });
      checkEqual(
        listed.vms.map((v) => v.name),
        [],
        "VMs the failed Create left",
      );
    },
  },
];
