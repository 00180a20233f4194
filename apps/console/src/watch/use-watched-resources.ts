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
const terminal = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument]);

/**
 * The resources of `kind` (the Resource oneof member `oneofCase`) in
 * `namespace`, or in every namespace when it is undefined, that match
 * `labelSelector` (the manager's, as kubectl writes it; empty: all), kept
 * current by the manager's Watch: a List, then a Watch from its
 * resourceVersion, both again a second after the watch ends or fails.
 * Changes are shown at most once per animation frame, so a burst of events
 * costs one render.
 */
export function useWatchedResources<C extends ResourceCase>(
  kind: Kind,
  oneofCase: C,
  namespace?: string,
  labelSelector = "",
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
          const listed = await client.list(
            { kind, labelSelector, ...scope },
            { signal: stop.signal },
          );
          items = resourcesOfList(oneofCase, listed.resources);
          show();
          const events = client.watch(
            {
              kind,
              labelSelector,
              namespace: namespace ?? "",
              resourceVersion: listed.resourceVersion,
            },
            { signal: stop.signal },
          );
          for await (const event of events)
            if (applyResourceEvent(oneofCase, items, event)) showSoon();
        } catch (err) {
          if (stop.signal.aborted) return;
          const error = ConnectError.from(err);
          // Refusals that retrying will not change: who the caller is, or a selector the manager refuses.
          if (terminal.has(error.code)) {
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
  }, [transport, kind, oneofCase, namespace, labelSelector]);
  return state;
}
