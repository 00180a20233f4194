import { type MessageInitShape } from "@bufbuild/protobuf";
import { type DeleteRequestSchema, Kind, type VirtualMachine } from "@virtrigaud/proto/manager";

/**
 * The Delete of `vm` as the page shows it: at its resourceVersion, so a VM
 * changed since the page showed it (another client's change) is refused with
 * CONFLICT rather than deleted unseen.
 */
export function deleteVmRequest(vm: VirtualMachine): MessageInitShape<typeof DeleteRequestSchema> {
  return {
    kind: Kind.VIRTUAL_MACHINE,
    namespace: vm.metadata?.namespace ?? "",
    name: vm.metadata?.name ?? "",
    resourceVersion: vm.metadata?.resourceVersion ?? "",
  };
}
