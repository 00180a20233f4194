import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  PowerState,
  type ProviderMethod,
  type ProviderMethodName,
  type ProviderResponse,
  type VirtualMachineSchema,
} from "@virtrigaud/contracts";
import type { FaultInjector } from "./faults.js";
import { resolveImage } from "./images.js";
import {
  type CompleteMockProvider,
  type MockContext,
  type MockWorld,
  linkedClonesOf,
} from "./mock-context.js";

/**
 * The world as the fault rules make it: fail-task faults fail tasks, and
 * ignore-acpi faults make guests ignore SHUTDOWN. Give it to the reference
 * provider's context; `withFaults` does the rest.
 */
export function faultyWorld(faults: FaultInjector): MockWorld {
  return {
    taskFailure: (operation) => faults.taskFailure(operation),
    ignoresAcpi: () => faults.fires("power", "ignore-acpi"),
  };
}

type Reported = MessageInitShape<typeof VirtualMachineSchema>;

/** A VM as no-ip and lie-power-state faults report it. */
function misreport(vm: Reported, hideAddresses: boolean, liePowerState: boolean): Reported {
  const power = vm.powerState;
  const lied =
    power === PowerState.ON ? PowerState.OFF : power === PowerState.OFF ? PowerState.ON : power;
  return {
    ...vm,
    ...(hideAddresses ? { ipAddresses: [] } : {}),
    ...(liePowerState ? { powerState: lied } : {}),
  };
}

type ReadAnswer = ProviderResponse<"diskExportRead">;

/**
 * A read's chunk with its first byte flipped and its sha256 kept: zeros
 * sent as zero_length become data, so every chunk can be damaged.
 */
function corrupted(answer: ReadAnswer): ReadAnswer {
  const chunk = answer.chunk;
  const content = chunk?.content;
  if (!chunk || !content?.case) return answer;
  const bytes =
    content.case === "data"
      ? Uint8Array.from(content.value ?? [])
      : new Uint8Array(Number(content.value ?? 0n));
  if (bytes.length === 0) return answer;
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  return { chunk: { ...chunk, content: { case: "data", value: bytes } } };
}

/**
 * The reference provider with the fault rules applied around it: every RPC
 * but GetCapabilities first meets delay, fail and fail-after faults;
 * phantom-create answers a Create that would make a VM with an id and makes
 * nothing; survive-delete answers a Delete that would start with success and
 * leaves the VM; no-ip and lie-power-state change what Describe and ListVMs
 * report. Faults of tasks and guests act through `faultyWorld`.
 */
export function withFaults(
  provider: CompleteMockProvider,
  ctx: MockContext,
  faults: FaultInjector,
): CompleteMockProvider {
  /** The provider's method, after the faults every call meets. */
  const entered =
    <M extends ProviderMethodName>(name: M, method: ProviderMethod<M>): ProviderMethod<M> =>
    async (request, call) => {
      await faults.enter(name, call.signal);
      return method(request, call);
    };
  const reportFaults = (operation: ProviderMethodName) => ({
    hideAddresses: faults.fires(operation, "no-ip"),
    liePowerState: faults.fires(operation, "lie-power-state"),
  });

  return {
    ...provider,
    validate: entered("validate", provider.validate),

    create: entered("create", (request, call) => {
      // Only a Create that would make a VM: a repeat still finds the VM it named.
      if (!ctx.store.byName(request.name)) {
        resolveImage(ctx, request.image, "image");
        if (faults.fires("create", "phantom-create"))
          return Promise.resolve({ vmId: ctx.store.newId("vm") });
      }
      return provider.create(request, call);
    }),

    delete: entered("delete", (request, call) => {
      // Only a Delete that would start: one of a ready VM with no linked clones.
      const vm = ctx.store.vms.get(request.vmId);
      if (
        vm?.phase === "ready" &&
        !linkedClonesOf(ctx, vm).length &&
        faults.fires("delete", "survive-delete")
      )
        return Promise.resolve({});
      return provider.delete(request, call);
    }),

    power: entered("power", provider.power),
    reconfigure: entered("reconfigure", provider.reconfigure),

    describe: entered("describe", async (request, call) => {
      const answer = await provider.describe(request, call);
      if (!answer.vm) return answer;
      const { hideAddresses, liePowerState } = reportFaults("describe");
      return { exists: true, vm: misreport(answer.vm, hideAddresses, liePowerState) };
    }),

    listVMs: entered("listVMs", async (request, call) => {
      const answer = await provider.listVMs(request, call);
      const { hideAddresses, liePowerState } = reportFaults("listVMs");
      return {
        vms: (answer.vms ?? []).map((vm) => misreport(vm, hideAddresses, liePowerState)),
        nextPageToken: answer.nextPageToken ?? "",
      };
    }),

    getTask: entered("getTask", provider.getTask),
    // A console meets its faults when it is opened.
    async *console(open, input, call) {
      await faults.enter("console", call.signal);
      yield* provider.console(open, input, call);
    },
    snapshotCreate: entered("snapshotCreate", provider.snapshotCreate),
    snapshotRevert: entered("snapshotRevert", provider.snapshotRevert),
    snapshotDelete: entered("snapshotDelete", provider.snapshotDelete),
    snapshotList: entered("snapshotList", provider.snapshotList),
    clone: entered("clone", provider.clone),
    imagePrepare: entered("imagePrepare", provider.imagePrepare),
    describeDisks: entered("describeDisks", provider.describeDisks),
    diskExportBegin: entered("diskExportBegin", provider.diskExportBegin),
    diskExportRead: entered("diskExportRead", async (request, call) => {
      const answer = await provider.diskExportRead(request, call);
      return faults.fires("diskExportRead", "corrupt-chunk") ? corrupted(answer) : answer;
    }),
    diskExportEnd: entered("diskExportEnd", provider.diskExportEnd),
    diskImportBegin: entered("diskImportBegin", provider.diskImportBegin),
    diskImportWrite: entered("diskImportWrite", provider.diskImportWrite),
    diskImportCommit: entered("diskImportCommit", provider.diskImportCommit),
    diskImportAbort: entered("diskImportAbort", provider.diskImportAbort),
  };
}
