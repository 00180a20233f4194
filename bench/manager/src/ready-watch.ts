import type { Client } from "@connectrpc/connect";
import {
  ConditionStatus,
  Kind,
  type ManagerService,
  type VirtualMachine,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import { fromResource } from "@virtrigaud/manager";

/**
 * Resolves once `n` VirtualMachines of the default namespace are Ready, as
 * a client that follows them would see it: one watch, not a list every
 * moment (which would cost the manager as much as what is measured).
 *
 * @throws Error when they are not all Ready within `timeoutMs`.
 */
export async function untilAllReady(
  client: Client<typeof ManagerService>,
  n: number,
  timeoutMs: number,
): Promise<void> {
  const ready = new Set<string>();
  const stream = client.watch({ kind: Kind.VIRTUAL_MACHINE, namespace: "default" }, { timeoutMs });
  try {
    for await (const change of stream) {
      if (change.type === WatchEventType.BOOKMARK) continue;
      const vm = fromResource(change.resource)?.message as VirtualMachine | undefined;
      const name = vm?.metadata?.name ?? "";
      const isReady = vm?.status?.conditions.some(
        (c) => c.type === "Ready" && c.status === ConditionStatus.TRUE,
      );
      if (isReady && change.type !== WatchEventType.DELETED) ready.add(name);
      else ready.delete(name);
      if (ready.size >= n) return;
    }
  } catch (err) {
    throw new Error(`only ${ready.size} of ${n} Ready: ${(err as Error).message}`, { cause: err });
  }
  throw new Error(`the watch ended with ${ready.size} of ${n} Ready`);
}
