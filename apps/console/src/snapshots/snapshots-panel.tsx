import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { useMutation, useTransport } from "@connectrpc/connect-query";
import {
  ConditionStatusSchema,
  Kind,
  ManagerService,
  ResourceSchema,
  SnapshotPhaseSchema,
  type VMSnapshot,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { useState } from "react";
import { useAllowed } from "../access/use-allowed";
import { ConfirmDialog } from "../dialogs/confirm-dialog";
import { enumWord } from "../format/enum-word";
import { snapshotActions } from "./snapshot-actions";
import { revertPlan, snapshotOf, snapshotsOfVm } from "./snapshot-manifests";
import { untilRevertForgotten } from "./until-revert-forgotten";
import { useWatchedResources } from "../watch/use-watched-resources";

const vmResource = (vm: VirtualMachine) =>
  create(ResourceSchema, { kind: { case: "virtualMachine", value: vm } });

/** What the caller asked to confirm. */
type Asked = { action: "revert" | "delete"; snapshot: string } | undefined;

/**
 * The VM's snapshots (live from the manager's Watch), with their phase and
 * conditions, and for callers the manager allows: take one, revert the VM to
 * one, delete one. Revert and delete ask for a confirmation first.
 */
export function SnapshotsPanel({ vm }: { vm: VirtualMachine }) {
  const namespace = vm.metadata?.namespace ?? "";
  const vmName = vm.metadata?.name ?? "";
  const listed = useWatchedResources(Kind.VM_SNAPSHOT, "vmSnapshot", namespace);
  const mayCreate = useAllowed("create", Kind.VM_SNAPSHOT, namespace);
  const mayDelete = useAllowed("delete", Kind.VM_SNAPSHOT, namespace);
  const mayRevert = useAllowed("update", Kind.VIRTUAL_MACHINE, namespace, vmName);
  const transport = useTransport();
  const apply = useMutation(ManagerService.method.apply);
  const remove = useMutation(ManagerService.method.delete);
  const [name, setName] = useState("");
  const [asked, setAsked] = useState<Asked>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const run = (what: string, action: () => Promise<unknown>) => {
    setOutcome(undefined);
    action().then(
      () => {
        setOutcome({ ok: true, text: `${what}: asked` });
      },
      (err: unknown) => setOutcome({ ok: false, text: ConnectError.from(err).rawMessage }),
    );
  };
  const snapshots = snapshotsOfVm(listed.items, vmName);

  const revert = (snapshot: string) =>
    run(`Revert to ${snapshot}`, async () => {
      const plan = revertPlan(vm, snapshot);
      await apply.mutateAsync({ resource: vmResource(plan.first) });
      if (!plan.second) return;
      setOutcome({
        ok: true,
        text: `Revert to ${snapshot}: waiting for the manager to clear the revert done`,
      });
      const client = createClient(ManagerService, transport);
      const forgotten = await untilRevertForgotten(async () => {
        const { resource } = await client.get({
          kind: Kind.VIRTUAL_MACHINE,
          namespace,
          name: vmName,
        });
        if (resource?.kind.case !== "virtualMachine") throw new Error("no VM came back");
        return resource.kind.value;
      });
      await apply.mutateAsync({ resource: vmResource(plan.second(forgotten)) });
    });
  const deleteSnapshot = (snapshot: VMSnapshot) =>
    run(`Delete ${snapshot.metadata?.name ?? ""}`, () =>
      remove.mutateAsync({
        kind: Kind.VM_SNAPSHOT,
        namespace,
        name: snapshot.metadata?.name ?? "",
        resourceVersion: snapshot.metadata?.resourceVersion ?? "",
      }),
    );

  return (
    <>
      {mayCreate && (
        <form
          className="actions"
          onSubmit={(e) => {
            e.preventDefault();
            const wanted = name.trim();
            if (!wanted) return;
            run(`Snapshot ${wanted}`, () =>
              apply.mutateAsync({
                resource: create(ResourceSchema, {
                  kind: { case: "vmSnapshot", value: snapshotOf(vm, wanted) },
                }),
              }),
            );
            setName("");
          }}
        >
          <input
            aria-label="snapshot name"
            placeholder="before-upgrade"
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
          <button type="submit" disabled={!name.trim()}>
            Take snapshot
          </button>
        </form>
      )}
      {mayCreate === false && mayRevert === false && mayDelete === false && (
        <p className="read-only">Read only: your role may not take, revert or delete snapshots.</p>
      )}
      {outcome && <p className={outcome.ok ? "done" : "error"}>{outcome.text}</p>}
      {vm.status?.revertedTo && (
        <p data-field="reverted-to">
          Last reverted to <strong>{vm.status.revertedTo}</strong> (generation{" "}
          {String(vm.status.revertedGeneration)})
        </p>
      )}
      {listed.error && <p className="error">{listed.error}</p>}
      {snapshots.length === 0 && listed.loaded && <p>No snapshots.</p>}
      {snapshots.length > 0 && (
        <table aria-label="snapshots">
          <thead>
            <tr>
              <th>Name</th>
              <th>Phase</th>
              <th>Taken</th>
              <th>Ready</th>
              <th>Message</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {snapshots.map((s) => {
              const snapName = s.metadata?.name ?? "";
              const ready = s.status?.conditions.find((c) => c.type === "Ready");
              const allowed = snapshotActions(s, vm);
              return (
                <tr key={snapName} data-snapshot={snapName}>
                  <td>{snapName}</td>
                  <td data-field="phase">
                    {s.metadata?.deletionTimestamp
                      ? "Deleting"
                      : enumWord(SnapshotPhaseSchema, s.status?.phase ?? 0) || "Pending"}
                  </td>
                  <td>
                    {s.status?.creationTime
                      ? timestampDate(s.status.creationTime).toLocaleString()
                      : ""}
                  </td>
                  <td>
                    {ready
                      ? `${enumWord(ConditionStatusSchema, ready.status)} (${ready.reason})`
                      : ""}
                  </td>
                  <td>{s.status?.message || ready?.message}</td>
                  <td>
                    <span className="row-actions">
                      {mayRevert && (
                        <button
                          disabled={allowed.revert !== true}
                          title={allowed.revert === true ? "" : allowed.revert}
                          onClick={() => setAsked({ action: "revert", snapshot: snapName })}
                        >
                          Revert
                        </button>
                      )}
                      {mayDelete && (
                        <button
                          disabled={allowed.delete !== true}
                          onClick={() => setAsked({ action: "delete", snapshot: snapName })}
                        >
                          Delete
                        </button>
                      )}
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {asked?.action === "revert" && (
        <ConfirmDialog
          title={`Revert ${vmName} to ${asked.snapshot}?`}
          confirmLabel="Revert"
          onCancel={() => setAsked(undefined)}
          onConfirm={() => {
            setAsked(undefined);
            revert(asked.snapshot);
          }}
        >
          <p>What the VM's disks (and memory, if the snapshot kept it) hold now is lost.</p>
        </ConfirmDialog>
      )}
      {asked?.action === "delete" && (
        <ConfirmDialog
          title={`Delete snapshot ${asked.snapshot}?`}
          confirmLabel="Delete"
          onCancel={() => setAsked(undefined)}
          onConfirm={() => {
            setAsked(undefined);
            const snapshot = snapshots.find((s) => s.metadata?.name === asked.snapshot);
            if (snapshot) deleteSnapshot(snapshot);
          }}
        >
          <p>The snapshot is deleted at the provider, then here.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
