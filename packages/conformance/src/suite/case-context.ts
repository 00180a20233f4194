import { create } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import {
  type Capabilities,
  CreateRequestSchema,
  ErrorReason,
  type ImageSource,
  ImageSourceSchema,
  ProviderError,
  PowerState,
  type TaskRef,
  type VirtualMachine,
} from "@virtrigaud/contracts";
import { type ProviderClient } from "@virtrigaud/contracts/client";
import { expectSuccess } from "./checks.js";
import { renderValue } from "./render-value.js";
import { CaseFailure, type CaseContext, type ConformanceOptions } from "./types.js";

/** A CaseContext, plus what the runner does with it after the case. */
export interface RunnableCaseContext extends CaseContext {
  /** Deletes every VM the case recorded; returns what could not be deleted. */
  cleanUp(): Promise<string[]>;
  readonly lines: string[];
}

/** Makes the context a case runs with. */
export function createCaseContext(params: {
  client: ProviderClient;
  capabilities: Capabilities;
  signal: AbortSignal;
  prefix: string;
  caseSlug: string;
  image: ImageSource | undefined;
  network: string | undefined;
  options: ConformanceOptions;
}): RunnableCaseContext {
  const { client, signal } = params;
  const tracked = new Set<string>();
  const lines: string[] = [];
  let counter = 0;
  const waitUnder = (task: TaskRef | undefined, until: AbortSignal) =>
    client.waitForTask(task, { signal: until, pollIntervalMs: 100, maxPollIntervalMs: 1000 });
  const wait = (task: TaskRef | undefined) => waitUnder(task, signal);

  const t: RunnableCaseContext = {
    client,
    capabilities: params.capabilities,
    signal,
    image: params.image,
    network: params.network,
    settleMs: params.options.settleMs ?? 60_000,
    options: {
      ...(params.options.imagePath ? { imagePath: params.options.imagePath } : {}),
      ...(params.options.imageUrl ? { imageUrl: params.options.imageUrl } : {}),
      ...(params.options.exportDisk ? { exportDisk: params.options.exportDisk } : {}),
    },
    lines,
    name(hint) {
      // Short enough for the contract's 63-character NAME rule.
      return `${params.prefix}${params.caseSlug}-${hint}-${++counter}`
        .slice(0, 63)
        .replace(/[^A-Za-z0-9]+$/, "");
    },
    vmRequest(name, overrides = {}) {
      const request = create(CreateRequestSchema, {
        name,
        class: { cpu: 1, memoryMib: 256 },
        ...(params.image ? { image: create(ImageSourceSchema, params.image) } : {}),
        ...(params.network ? { networks: [{ network: params.network }] } : {}),
      });
      // What the overrides set wins, field by field.
      const base = reflect(CreateRequestSchema, request);
      const extra = reflect(CreateRequestSchema, create(CreateRequestSchema, overrides));
      for (const field of CreateRequestSchema.fields) {
        if (extra.isSet(field)) base.set(field, extra.get(field));
      }
      return request;
    },
    async createVm(hint, overrides) {
      const request = t.vmRequest(t.name(hint), overrides);
      const { vmId, task } = await expectSuccess(
        client.create(request, { signal }),
        `Create of ${request.name}`,
      );
      if (!vmId) throw new CaseFailure(`Create of ${request.name} returned no vm_id`);
      tracked.add(vmId);
      await expectSuccess(wait(task), `the task of Create ${request.name}`);
      return vmId;
    },
    track(vmId) {
      tracked.add(vmId);
    },
    wait,
    async runTask(call, what) {
      return wait((await expectSuccess(call, what)).task);
    },
    async describe(vmId) {
      const { exists, vm } = await expectSuccess(
        client.describe({ vmId }, { signal }),
        `Describe ${vmId}`,
      );
      if (!exists || !vm) throw new CaseFailure(`Describe ${vmId} says the VM does not exist`);
      return vm;
    },
    async eventually(vmId, what, predicate) {
      const settleMs = t.settleMs;
      const deadline = Date.now() + settleMs;
      let last: VirtualMachine | undefined;
      for (let delay = 50; ; delay = Math.min(1000, delay * 2)) {
        last = await t.describe(vmId);
        if (predicate(last)) return last;
        if (Date.now() + delay > deadline || signal.aborted) break;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      throw new CaseFailure(
        `${what}: not so within ${settleMs / 1000} s; Describe says ${renderValue(summary(last))}`,
      );
    },
    log(message) {
      lines.push(message);
    },
    async cleanUp() {
      const failed: string[] = [];
      // A fresh deadline: the case's own may be what ended it.
      const cleanup = AbortSignal.timeout(120_000);
      for (const vmId of [...tracked].reverse()) {
        try {
          const { task } = await client.delete({ vmId }, { signal: cleanup });
          await waitUnder(task, cleanup);
        } catch (thrown) {
          const error = ProviderError.from(thrown);
          if (error.reason !== ErrorReason.NOT_FOUND) failed.push(`${vmId}: ${error.message}`);
        }
      }
      return failed;
    },
  };
  return t;
}

function summary(vm: VirtualMachine | undefined) {
  if (!vm) return undefined;
  return {
    name: vm.name,
    powerState: PowerState[vm.powerState] ?? vm.powerState,
    cpu: vm.resources?.cpu,
    memoryMib: vm.resources?.memoryMib,
    disks: vm.resources?.disks.map((d) => `${d.name}:${d.sizeGib}`),
  };
}
