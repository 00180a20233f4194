import { checkEqual, expectSuccess } from "../suite/checks.js";
import type { ConformanceCase, Profile } from "../suite/types.js";

export const concurrencyProfile: Profile = {
  name: "concurrency",
  description:
    "20 parallel creates with distinct names all succeed; 10 parallel creates of one name yield one VM",
  declared: () => true,
};

export const concurrencyCases: ConformanceCase[] = [
  {
    id: "concurrency/distinct",
    profile: "concurrency",
    title: "20 creates with distinct names at once all succeed",
    async run(t) {
      const prefix = t.name("many");
      const names = Array.from({ length: 20 }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
      const created = await Promise.all(
        names.map(async (name) => {
          const { vmId, task } = await expectSuccess(
            t.client.create(t.vmRequest(name), { signal: t.signal }),
            `Create ${name}`,
          );
          t.track(vmId);
          await expectSuccess(t.wait(task), `the task of Create ${name}`);
          return vmId;
        }),
      );
      checkEqual(new Set(created).size, 20, "distinct vm_ids");
      const { vms } = await t.client.listVMs(
        { namePrefix: prefix, pageSize: 100 },
        { signal: t.signal },
      );
      checkEqual(
        vms.map((v) => v.name),
        names,
        "the VMs ListVMs finds",
      );
    },
  },
  {
    id: "concurrency/same-name",
    profile: "concurrency",
    title: "10 creates of one name at once yield one VM",
    async run(t) {
      const name = t.name("race");
      const request = t.vmRequest(name);
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          expectSuccess(t.client.create(request, { signal: t.signal }), `Create ${name}`),
        ),
      );
      for (const { vmId } of results) t.track(vmId);
      await Promise.all(results.map((r) => t.wait(r.task)));
      checkEqual(
        new Set(results.map((r) => r.vmId)).size,
        1,
        "distinct vm_ids among 10 creates of one name",
      );
      const { vms } = await t.client.listVMs({ namePrefix: name }, { signal: t.signal });
      checkEqual(vms.length, 1, `VMs named ${name}`);
    },
  },
];
