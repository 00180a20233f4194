import { ConnectError } from "@connectrpc/connect";
import { useMutation } from "@connectrpc/connect-query";
import { Kind, ManagerService, type VirtualMachine } from "@virtrigaud/proto/manager";
import { useState } from "react";
import { useAllowed } from "../access/use-allowed";
import { ConfirmDialog } from "../dialogs/confirm-dialog";
import { deleteVmRequest } from "./delete-vm";

/**
 * "Delete VM", for callers the manager lets delete it: a dialog asks for the
 * VM's name typed out, then the VM is deleted and `onDeleted` runs (the page
 * goes back to the fleet, where the row goes when the manager is done).
 */
export function DeleteVmButton({ vm, onDeleted }: { vm: VirtualMachine; onDeleted: () => void }) {
  const namespace = vm.metadata?.namespace ?? "";
  const name = vm.metadata?.name ?? "";
  const allowed = useAllowed("delete", Kind.VIRTUAL_MACHINE, namespace, name);
  const remove = useMutation(ManagerService.method.delete);
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string>();
  if (!allowed) return null;
  if (vm.metadata?.deletionTimestamp) return <p className="done">Being deleted…</p>;
  return (
    <div className="actions">
      <button className="danger" onClick={() => setAsking(true)}>
        Delete VM
      </button>
      {error && <span className="error">{error}</span>}
      {asking && (
        <ConfirmDialog
          title={`Delete ${namespace}/${name}?`}
          confirmLabel="Delete this VM"
          typeToConfirm={name}
          onCancel={() => setAsking(false)}
          onConfirm={() => {
            setAsking(false);
            setError(undefined);
            remove.mutateAsync(deleteVmRequest(vm)).then(onDeleted, (err: unknown) => {
              setError(ConnectError.from(err).rawMessage);
            });
          }}
        >
          <p>
            The VM is deleted at its provider, with its disks; snapshots that keep the default
            retention go with it. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
