import { Kind } from "@virtrigaud/proto/manager";
import { Suspense, lazy, useState } from "react";
import { useAllowed } from "../access/use-allowed";

// xterm.js and noVNC are loaded with the first console opened, not with every page.
const SerialTerminal = lazy(() => import("./serial-terminal"));
const VncScreen = lazy(() => import("./vnc-screen"));

/**
 * The VM's serial console or its screen (VNC), one at a time, opened on request, for those the manager lets
 * open it (the verb console); a provider without one is said so by the
 * manager's refusal of the ticket.
 */
export function SerialConsole({ namespace, name }: { namespace: string; name: string }) {
  const allowed = useAllowed("console", Kind.VIRTUAL_MACHINE, namespace, name);
  const [open, setOpen] = useState<"serial" | "screen" | undefined>(undefined);
  if (allowed === undefined) return null;
  if (!allowed)
    return <p className="read-only">No console: your role may not open this VM's console.</p>;
  return (
    <div className="serial-console">
      <button onClick={() => setOpen(open === "serial" ? undefined : "serial")}>
        {open === "serial" ? "Close serial console" : "Serial console"}
      </button>
      <button onClick={() => setOpen(open === "screen" ? undefined : "screen")}>
        {open === "screen" ? "Close screen" : "Screen"}
      </button>
      {open && (
        <Suspense fallback={<p>Loading…</p>}>
          {open === "serial" ? (
            <SerialTerminal namespace={namespace} name={name} />
          ) : (
            <VncScreen namespace={namespace} name={name} />
          )}
        </Suspense>
      )}
    </div>
  );
}
