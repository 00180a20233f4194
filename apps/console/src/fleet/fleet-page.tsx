import { useVirtualizer } from "@tanstack/react-virtual";
import { Kind } from "@virtrigaud/proto/manager";
import { useDeferredValue, useMemo, useRef, useState } from "react";
import type { Route } from "../routing/route";
import { type FleetView, type SortKey, fleetRows, namespacesOf } from "./fleet-order";
import { useWatchedResources } from "../watch/use-watched-resources";

const rowHeight = 36;
const columns: { key: SortKey; title: string }[] = [
  { key: "namespace", title: "Namespace" },
  { key: "name", title: "Name" },
  { key: "phase", title: "Phase" },
  { key: "power", title: "Power" },
  { key: "provider", title: "Provider" },
];

/**
 * Every VM the caller may list, live: filtered by namespace (here) and by a
 * label selector (the manager's, as kubectl writes it), sorted by a column,
 * and drawn as a virtual list, so only the rows in view are in the page.
 */
export function FleetPage({ go }: { go: (route: Route) => void }) {
  const [selectorText, setSelectorText] = useState("");
  const [selector, setSelector] = useState("");
  const [view, setView] = useState<FleetView>({
    namespace: "",
    sortBy: "name",
    descending: false,
  });
  const {
    items: vms,
    loaded,
    error,
  } = useWatchedResources(Kind.VIRTUAL_MACHINE, "virtualMachine", undefined, selector);
  const deferredVms = useDeferredValue(vms);
  const rows = useMemo(() => fleetRows(deferredVms, view), [deferredVms, view]);
  const namespaces = useMemo(() => namespacesOf(deferredVms), [deferredVms]);
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 10,
  });
  const sortBy = (key: SortKey) =>
    setView((v) => ({ ...v, sortBy: key, descending: v.sortBy === key && !v.descending }));

  return (
    <section className="fleet">
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setSelector(selectorText.trim());
        }}
      >
        <label>
          Namespace{" "}
          <select
            aria-label="namespace"
            value={view.namespace}
            onChange={(e) => setView((v) => ({ ...v, namespace: e.target.value }))}
          >
            <option value="">all</option>
            {namespaces.map((ns) => (
              <option key={ns}>{ns}</option>
            ))}
          </select>
        </label>
        <label>
          Labels{" "}
          <input
            aria-label="label selector"
            placeholder="app=web,tier!=db"
            value={selectorText}
            onChange={(e) => setSelectorText(e.target.value)}
          />
        </label>
        <button type="submit">Filter</button>
        <span className="count" data-testid="vm-count">
          {loaded ? `${rows.length} of ${vms.length} VMs` : "loading…"}
        </span>
        {error && <span className="error">{error}</span>}
      </form>
      <div className="grid header" role="row">
        {columns.map((c) => (
          <button key={c.key} role="columnheader" onClick={() => sortBy(c.key)}>
            {c.title}
            {view.sortBy === c.key ? (view.descending ? " ▼" : " ▲") : ""}
          </button>
        ))}
        <span role="columnheader">Addresses</span>
      </div>
      <div className="scroller" ref={scroller} role="table" aria-label="virtual machines">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            return (
              <div
                key={row.key}
                role="row"
                data-vm={row.key}
                className="grid row"
                style={{ transform: `translateY(${item.start}px)`, height: rowHeight }}
                onClick={() => go({ page: "vm", namespace: row.namespace, name: row.name })}
              >
                <span>{row.namespace}</span>
                <a
                  href={`/console/vms/${encodeURIComponent(row.namespace)}/${encodeURIComponent(row.name)}`}
                  onClick={(e) => e.preventDefault()}
                >
                  {row.name}
                </a>
                <span data-field="phase">{row.phase}</span>
                <span data-field="power" title={`declared ${row.desiredPower}`}>
                  {row.power}
                </span>
                <span>{row.provider}</span>
                <span>{row.addresses}</span>
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
