import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { type Kind, ManagerService } from "@virtrigaud/proto/manager";
import { useEffect, useState } from "react";
import {
  type ResourceCase,
  type ResourceOf,
  type ResourcesByKey,
  applyResourceEvent,
  resourcesOfList,
} from "./watched-resources";

/** What a page shows of the resources it watches. */
export interface WatchedResources<C extends ResourceCase> {
  items: readonly ResourceOf<C>[];
  /** True once the first List has answered. */
  loaded: boolean;
  /** Why the watch is down (it retries by itself), for people. */
  error: string | undefined;
}

const retryMs = 1000;

/**
 * The resources of `kind` (the Resource oneof member `oneofCase`) in
 * `namespace`, or in every namespace when it is undefined, kept current by
 * the manager's Watch as the fleet's VMs are: a List, then a Watch from its
 * resourceVersion, both again a second after the watch ends or fails.
 * Changes are shown at most once per animation frame.
 */
export function useWatchedResources<C extends ResourceCase>(
  kind: Kind,
  oneofCase: C,
  namespace?: string,
): WatchedResources<C> {
  const transport = useTransport();
  const [state, setState] = useState<WatchedResources<C>>({
    items: [],
    loaded: false,
    error: undefined,
  });
  useEffect(() => {
    const client = createClient(ManagerService, transport);
    const stop = new AbortController();
    let items: ResourcesByKey<C> = new Map<string, ResourceOf<C>>();
    let frame: number | undefined;
    const show = () => {
      if (frame !== undefined) cancelAnimationFrame(frame);
      frame = undefined;
      setState({ items: [...items.values()], loaded: true, error: undefined });
    };
    const showSoon = () => {
      frame ??= requestAnimationFrame(show);
    };
    const scope = namespace ? { namespace } : { allNamespaces: true };
    const run = async () => {
      while (!stop.signal.aborted) {
        try {
          const listed = await client.list({ kind, ...scope }, { signal: stop.signal });
          items = resourcesOfList(oneofCase, listed.resources);
          show();
          const events = client.watch(
            { kind, namespace: namespace ?? "", resourceVersion: listed.resourceVersion },
            { signal: stop.signal },
          );
          for await (const event of events)
            if (applyResourceEvent(oneofCase, items, event)) showSoon();
        } catch (err) {
          if (stop.signal.aborted) return;
          const error = ConnectError.from(err);
          if (error.code === Code.Unauthenticated || error.code === Code.PermissionDenied) {
            setState({ items: [], loaded: true, error: error.rawMessage });
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
  }, [transport, kind, oneofCase, namespace]);
  return state;
}
