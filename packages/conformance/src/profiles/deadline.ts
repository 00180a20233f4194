import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { check, checkEqual, expectSuccess } from "../suite/checks.js";
import type { ConformanceCase, Profile } from "../suite/types.js";

export const deadlineProfile: Profile = {
  name: "deadline",
  description:
    "A call with a short deadline is cancelled cleanly, and nothing half-made is left after cleanup",
  declared: () => true,
};

export const deadlineCases: ConformanceCase[] = [
  {
    id: "deadline/short-create",
    profile: "deadline",
    title:
      "A Create with a 1 ms deadline fails cleanly or succeeds; repeating it converges on one whole VM",
    async run(t) {
      const name = t.name("hasty");
      const request = t.vmRequest(name);
      const outcome = await t.client.create(request, { signal: t.signal, timeoutMs: 1 }).then(
        (r) => r,
        (e: unknown) => ProviderError.from(e),
      );
      if (outcome instanceof ProviderError) {
        check(
          outcome.reason === ErrorReason.DEADLINE_EXCEEDED ||
            outcome.reason === ErrorReason.CANCELED,
          `a Create past its deadline failed with ${outcome.message}, not DEADLINE_EXCEEDED`,
        );
      } else {
        t.track(outcome.vmId);
        t.log("the provider answered within 1 ms");
      }
      // Whatever the first call left, Create is idempotent: the repeat finishes the job.
      const { vmId, task } = await expectSuccess(
        t.client.create(request, { signal: t.signal }),
        "Create after the deadline",
      );
      t.track(vmId);
      await expectSuccess(t.wait(task), "the task of Create after the deadline");
      const vm = await t.describe(vmId);
      checkEqual(vm.name, name, "the VM's name");
      const { vms } = await t.client.listVMs({ namePrefix: name }, { signal: t.signal });
      checkEqual(vms.length, 1, `VMs named ${name}`);
    },
  },
  {
    id: "deadline/short-list",
    profile: "deadline",
    title: "A ListVMs with a 1 ms deadline fails cleanly or succeeds, and the next call works",
    async run(t) {
      const outcome = await t.client.listVMs({}, { signal: t.signal, timeoutMs: 1 }).then(
        () => undefined,
        (e: unknown) => ProviderError.from(e),
      );
      if (outcome) {
        check(
          outcome.reason === ErrorReason.DEADLINE_EXCEEDED ||
            outcome.reason === ErrorReason.CANCELED,
          `a ListVMs past its deadline failed with ${outcome.message}, not DEADLINE_EXCEEDED`,
        );
      }
      await expectSuccess(
        t.client.listVMs({ pageSize: 1 }, { signal: t.signal }),
        "ListVMs after the deadline",
      );
      await expectSuccess(
        t.client.validate({}, { signal: t.signal }),
        "Validate after the deadline",
      );
    },
  },
];
