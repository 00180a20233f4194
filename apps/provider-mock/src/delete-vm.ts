import { ProviderError } from "@virtrigaud/contracts";
import { type MockOperation, linkedClonesOf, readyVm, runTask } from "./mock-context.js";

/**
 * Delete: a VM that does not exist is deleted already; a VM being deleted
 * answers with the same task; otherwise a task removes it.
 *
 * @throws ProviderError RETRYABLE while the VM is being created; CONFLICT
 * while linked clones sit on it.
 */
export const deleteVm: MockOperation<"delete"> = (ctx, request) => {
  const vm = ctx.store.vms.get(request.vmId);
  if (!vm) return Promise.resolve({});
  if (vm.phase === "deleting") return Promise.resolve({ task: { id: vm.taskId } });
  readyVm(ctx, vm.id);
  const clones = linkedClonesOf(ctx, vm);
  if (clones.length) {
    throw ProviderError.conflict(
      `vm ${vm.id} has linked clones (${clones.map((c) => c.name).join(", ")}); delete them first`,
    );
  }
  vm.phase = "deleting";
  const task = runTask(
    ctx,
    "delete",
    `delete ${vm.name}`,
    () => {
      ctx.store.remove(vm);
      // Imported disks go with the last VM that names them (clones share them).
      const stillUsed = new Set(
        [...ctx.store.vms.values()].flatMap((v) => v.config.disks.map((d) => d.importId ?? "")),
      );
      ctx.disks.dropAdoptedExcept(stillUsed);
    },
    () => {
      vm.phase = "ready";
      vm.taskId = "";
    },
  );
  vm.taskId = task.id;
  return Promise.resolve({ task });
};
