import type { Fence, ResourceStore } from "./store.js";

/**
 * The store as controllers of one term see it: every write they make is
 * fenced by that term, so a manager that no longer leads changes nothing.
 * Reads and the API's writes go to the store itself.
 */
export function fencedStore(store: ResourceStore, fence: Fence): ResourceStore {
  return {
    get resourceVersion() {
      return store.resourceVersion;
    },
    get location() {
      return store.location;
    },
    get: (kind, namespace, name) => store.get(kind, namespace, name),
    list: (kind, namespace) => store.list(kind, namespace),
    count: (kind) => store.count(kind),
    subscribe: (listener) => store.subscribe(listener),
    apply: (kind, incoming, options = {}) => store.apply(kind, incoming, { ...options, fence }),
    update: (kind, namespace, name, mutate, options = {}) =>
      store.update(kind, namespace, name, mutate, { ...options, fence }),
    updateStatus: (kind, namespace, name, status, options = {}) =>
      store.updateStatus(kind, namespace, name, status, { ...options, fence }),
    createOwned: (kind, message, finalizers, options = {}) =>
      store.createOwned(kind, message, finalizers, { ...options, fence }),
    requestDelete: (kind, namespace, name, resourceVersion, options = {}) =>
      store.requestDelete(kind, namespace, name, resourceVersion, { ...options, fence }),
    changesSince: (resourceVersion) => store.changesSince(resourceVersion),
    recordEvent: (input, options = {}) => store.recordEvent(input, { ...options, fence }),
    listEvents: (filter) => store.listEvents(filter),
    flush: () => store.flush(),
    close: () => store.close(),
  };
}
