/** The generated project's src/provider.ts: the contract, mapped onto the backend. */
export const providerSource = `import {
  DiskType,
  Firmware,
  PowerOperation,
  PowerState,
  type Provider,
  ProviderError,
  createOnceByName,
} from "@virtrigaud/contracts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { VirtualMachineSchema } from "@virtrigaud/contracts";
import type { Backend, BackendVm } from "./backend.js";

/** The version this provider reports in GetCapabilities. */
export const providerVersion = "0.1.0";

function toVirtualMachine(vm: BackendVm): MessageInitShape<typeof VirtualMachineSchema> {
  return {
    id: vm.id,
    name: vm.name,
    powerState: vm.powerState === "on" ? PowerState.ON : PowerState.OFF,
    resources: {
      cpu: vm.cpu,
      memoryMib: vm.memoryMib,
      firmware: Firmware.BIOS,
      disks: vm.disks.map((d) => ({ ...d, type: DiskType.THIN })),
      networkInterfaces: vm.networks.map((network) => ({ network })),
    },
    labels: vm.labels,
  };
}

/**
 * The {{providerType}} provider: every RPC of the contract, on top of a Backend.
 * It declares only what it does; the SDK answers UNSUPPORTED for the rest.
 * Errors are ProviderErrors with the reason the contract asks for.
 */
export function create{{pascalName}}Provider(backend: Backend): Provider {
  // Create is idempotent by name, also for concurrent calls: they join the first.
  const creations = createOnceByName<string>();

  const find = async (vmId: string, signal: AbortSignal): Promise<BackendVm> => {
    const vm = await backend.find(vmId, signal);
    if (!vm) throw ProviderError.notFound(\`vm \${vmId} does not exist\`);
    return vm;
  };

  return {
    async validate(_request, ctx) {
      await backend.ping(ctx.signal);
      return { message: "{{providerType}} backend reachable" };
    },

    getCapabilities() {
      return Promise.resolve({
        capabilities: {
          providerType: "{{providerType}}",
          providerVersion,
          // The in-memory backend changes a running VM at once. Declare what
          // your real backend does: vcts checks every declaration.
          onlineReconfigure: true,
          onlineDiskGrow: true,
          diskTypes: [DiskType.THIN],
          firmwareTypes: [Firmware.BIOS],
        },
      });
    },

    async create(request, ctx) {
      const vmId = await creations.run(
        request.name,
        async () => {
          const existing = await backend.findByName(request.name, ctx.signal);
          if (existing) return existing.id;
          const vm = await backend.create(
            {
              name: request.name,
              cpu: request.class?.cpu ?? 1,
              memoryMib: request.class?.memoryMib ?? 512,
              disks: request.disks.map((d) => ({ name: d.name, sizeGib: d.sizeGib })),
              networks: request.networks.map((n) => n.network),
              labels: { ...request.labels },
            },
            ctx.signal,
          );
          if (request.powerOn) await backend.update(vm.id, { powerState: "on" }, ctx.signal);
          return vm.id;
        },
        ctx.signal,
      );
      return { vmId };
    },

    async delete(request, ctx) {
      await backend.remove(request.vmId, ctx.signal);
      return {};
    },

    async power(request, ctx) {
      const vm = await find(request.vmId, ctx.signal);
      switch (request.operation) {
        case PowerOperation.ON:
          await backend.update(vm.id, { powerState: "on" }, ctx.signal);
          return {};
        case PowerOperation.OFF:
        case PowerOperation.SHUTDOWN:
          await backend.update(vm.id, { powerState: "off" }, ctx.signal);
          return {};
        case PowerOperation.REBOOT:
          if (vm.powerState !== "on") throw ProviderError.conflict(\`vm \${vm.id} is off; power it on instead\`);
          return {};
        default:
          throw ProviderError.unsupported(\`power operation \${PowerOperation[request.operation]} is not supported\`);
      }
    },

    async reconfigure(request, ctx) {
      const vm = await find(request.vmId, ctx.signal);
      const disks = vm.disks.map((d) => ({ ...d }));
      for (const [i, resize] of request.disks.entries()) {
        const disk = disks.find((d) => d.name === resize.name);
        if (!disk) throw ProviderError.invalidSpec(\`disks[\${i}].name\`, \`vm \${vm.id} has no disk \${resize.name}\`);
        if (resize.sizeGib < disk.sizeGib) {
          throw ProviderError.invalidSpec(\`disks[\${i}].size_gib\`, \`cannot shrink \${resize.name} from \${disk.sizeGib} GiB\`);
        }
        disk.sizeGib = resize.sizeGib;
      }
      await backend.update(
        vm.id,
        { cpu: request.cpu ?? vm.cpu, memoryMib: request.memoryMib ?? vm.memoryMib, disks },
        ctx.signal,
      );
      return { powerCycleRequired: false };
    },

    async describe(request, ctx) {
      const vm = await backend.find(request.vmId, ctx.signal);
      return vm ? { exists: true, vm: toVirtualMachine(vm) } : { exists: false };
    },

    async listVMs(request, ctx) {
      let after = "";
      if (request.pageToken) {
        after = Buffer.from(request.pageToken, "base64url").toString();
        if (!after) throw ProviderError.invalidSpec("page_token", "is not a token this provider handed out");
      }
      const size = request.pageSize || 100;
      const matching = (await backend.list(ctx.signal)).filter(
        (vm) => vm.name.startsWith(request.namePrefix) && vm.name > after,
      );
      const page = matching.slice(0, size);
      const last = page.at(-1);
      return {
        vms: page.map(toVirtualMachine),
        nextPageToken: matching.length > size && last ? Buffer.from(last.name).toString("base64url") : "",
      };
    },

    getTask(request) {
      // Every operation here finishes before it answers, so there are no tasks.
      // A backend with long operations hands them out with createTaskTracker.
      return Promise.reject(ProviderError.notFound(\`task \${request.task?.id ?? ""} does not exist\`));
    },
  } satisfies Provider;
}

`;
