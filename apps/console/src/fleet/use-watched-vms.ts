import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { Kind, ManagerService, type VirtualMachine } from "@virtrigaud/proto/manager";
import { useEffect, useState } from "react";
import { type VmsByKey, applyWatchEvent, vmsOfList } from "./watched-vms";

/** What the page shows of the VMs it watches. */
export interface WatchedVms {
  vms: readonly VirtualMachine[];
  /** True once the first List has answered. */
  loaded: boolean;
  /** Why the watch is down (it retries by itself), for people. */
  error: string | undefined;
}

const retryMs = 1000;

/**
 * The VirtualMachines matching `labelSelector` (every namespace, or
 * `namespace`), kept current by the manager's Watch: a List, then a Watch from
 * its resourceVersion; when the watch ends or fails, List and Watch again
 * after a second. Changes are applied at most once per animation frame, so a
 * burst of events costs one render.
 */
export function useWatchedVms(labelSelector: string, namespace?: string): WatchedVms {
  const transport = useTransport();
  const [state, setState] = useState<WatchedVms>({ vms: [], loaded: false, error: undefined });
  useEffect(() => {
    const client = createClient(ManagerService, transport);
    const stop = new AbortController();
    let vms: VmsByKey = new Map();
    let frame: number | undefined;
    const show = (error: string | undefined) => {
      if (frame !== undefined) cancelAnimationFrame(frame);
      frame = undefined;
      setState({ vms: [...vms.values()], loaded: true, error });
    };
    const showSoon = () => {
      frame ??= requestAnimationFrame(() => show(undefined));
    };
    const scope = namespace ? { namespace } : { allNamespaces: true };
    const run = async () => {
      while (!stop.signal.aborted) {
        try {
          const listed = await client.list(
            { kind: Kind.VIRTUAL_MACHINE, labelSelector, ...scope },
            { signal: stop.signal },
          );
          vms = vmsOfList(listed.resources);
          show(undefined);
          const events = client.watch(
            {
              kind: Kind.VIRTUAL_MACHINE,
              labelSelector,
              namespace: namespace ?? "",
              resourceVersion: listed.resourceVersion,
            },
            { signal: stop.signal },
          );
          for await (const event of events) if (applyWatchEvent(vms, event)) showSoon();
        } catch (err) {
          if (stop.signal.aborted) return;
          const error = ConnectError.from(err);
          // A selector the manager refuses will not get better by retrying.
          if (error.code === Code.InvalidArgument || error.code === Code.Unauthenticated) {
            setState({ vms: [], loaded: true, error: error.rawMessage });
            return;
          }
          setState((s) => ({ ...s, error: error.rawMessage }));
        }
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    };
    void run();
    return () => {
      stop.abort();
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [transport, labelSelector, namespace]);
  return state;
}
