import { create, toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import {
  AddressSourceSchema,
  EventTypeSchema,
  Kind,
  ManagerService,
  PowerStateSchema,
  ResourceSchema,
  type VirtualMachine,
  VirtualMachinePhaseSchema,
  VirtualMachineSpecSchema,
} from "@virtrigaud/proto/manager";
import { useState } from "react";
import { ConditionsTable } from "../format/conditions-table";
import { enumWord } from "../format/enum-word";
import { PageLink } from "../routing/page-link";
import { ResourceHeading } from "../routing/resource-heading";
import type { Route } from "../routing/route";
import { SnapshotsPanel } from "../snapshots/snapshots-panel";
import { useWatchedResources } from "../watch/use-watched-resources";
import { DeleteVmButton } from "./delete-vm-button";
import { SerialConsole } from "../terminal/serial-console";
import { type PowerAction, vmForAction } from "./power-actions";

const actions: { action: PowerAction; title: string }[] = [
  { action: "on", title: "Power on" },
  { action: "off", title: "Power off" },
  { action: "graceful-off", title: "Shut down" },
  { action: "reboot", title: "Reboot" },
];

const when = (t: Parameters<typeof timestampDate>[0] | undefined) =>
  t ? timestampDate(t).toLocaleString() : "";

/** The actions, for callers the manager lets update the VM; none for the others. */
function PowerButtons({ vm }: { vm: VirtualMachine }) {
  const namespace = vm.metadata?.namespace ?? "";
  const name = vm.metadata?.name ?? "";
  const access = useQuery(ManagerService.method.checkAccess, {
    verb: "update",
    kind: Kind.VIRTUAL_MACHINE,
    namespace,
    name,
  });
  const apply = useMutation(ManagerService.method.apply);
  const [asked, setAsked] = useState<string>();
  if (!access.data) return null;
  if (!access.data.allowed)
    return <p className="read-only">Read only: your role may not change this VM.</p>;
  return (
    <div className="actions">
      {actions.map(({ action, title }) => (
        <button
          key={action}
          disabled={apply.isPending}
          onClick={() => {
            setAsked(title);
            apply.mutate({
              resource: create(ResourceSchema, {
                kind: { case: "virtualMachine", value: vmForAction(vm, action, new Date()) },
              }),
            });
          }}
        >
          {title}
        </button>
      ))}
      {apply.isError && <span className="error">{apply.error.rawMessage}</span>}
      {apply.isSuccess && asked && <span className="done">{asked}: asked</span>}
    </div>
  );
}

function Events({ namespace, name }: { namespace: string; name: string }) {
  const events = useQuery(
    ManagerService.method.listEvents,
    { namespace, kind: Kind.VIRTUAL_MACHINE, name, limit: 50 },
    { refetchInterval: 2000 },
  );
  return (
    <table className="events" aria-label="events">
      <thead>
        <tr>
          <th>Last seen</th>
          <th>Type</th>
          <th>Reason</th>
          <th>Message</th>
          <th>Count</th>
        </tr>
      </thead>
      <tbody>
        {[...(events.data?.events ?? [])].reverse().map((e) => (
          <tr key={String(e.sequence)}>
            <td>{when(e.lastTimestamp)}</td>
            <td>{enumWord(EventTypeSchema, e.type)}</td>
            <td>{e.reason}</td>
            <td>{e.message}</td>
            <td>{e.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One VM, live: its spec, status, conditions, addresses and events, and its power actions. */
export function VmPage({
  namespace,
  name,
  go,
}: {
  namespace: string;
  name: string;
  go: (route: Route) => void;
}) {
  const {
    items: vms,
    loaded,
    error,
  } = useWatchedResources(Kind.VIRTUAL_MACHINE, "virtualMachine", namespace);
  const vm = vms.find((v) => v.metadata?.name === name);
  return (
    <section className="vm">
      <ResourceHeading
        back={{ page: "fleet" }}
        backLabel="Fleet"
        namespace={namespace}
        name={name}
        error={error}
        missing={loaded && !vm && "No such VM (or it is gone)."}
        go={go}
      />
      {vm && (
        <>
          <dl className="facts">
            <dt>Phase</dt>
            <dd data-field="phase">{enumWord(VirtualMachinePhaseSchema, vm.status?.phase ?? 0)}</dd>
            <dt>Power</dt>
            <dd data-field="power">{enumWord(PowerStateSchema, vm.status?.powerState ?? 0)}</dd>
            <dt>Declared power</dt>
            <dd>{enumWord(PowerStateSchema, vm.spec?.powerState ?? 0) || "On"}</dd>
            <dt>Provider</dt>
            <dd>
              <PageLink to={{ page: "providers" }} go={go}>
                {vm.spec?.providerRef?.name}
              </PageLink>
            </dd>
            <dt>Provider's id</dt>
            <dd>{vm.status?.id}</dd>
            <dt>Message</dt>
            <dd>{vm.status?.message}</dd>
          </dl>
          <PowerButtons vm={vm} />
          <DeleteVmButton vm={vm} onDeleted={() => go({ page: "fleet" })} />
          <SerialConsole namespace={namespace} name={name} />
          <h3>Conditions</h3>
          <ConditionsTable label="conditions" conditions={vm.status?.conditions ?? []} />
          <h3>Addresses</h3>
          <table aria-label="addresses">
            <thead>
              <tr>
                <th>Address</th>
                <th>Source</th>
                <th>MAC</th>
              </tr>
            </thead>
            <tbody>
              {(vm.status?.addresses ?? []).map((a) => (
                <tr key={`${a.address}-${a.macAddress}`}>
                  <td>{a.address}</td>
                  <td>{enumWord(AddressSourceSchema, a.source)}</td>
                  <td>{a.macAddress}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Snapshots</h3>
          <SnapshotsPanel vm={vm} />
          <h3>Events</h3>
          <Events namespace={namespace} name={name} />
          <h3>Spec</h3>
          <pre className="spec">
            {vm.spec ? toJsonString(VirtualMachineSpecSchema, vm.spec, { prettySpaces: 2 }) : ""}
          </pre>
        </>
      )}
    </section>
  );
}
