import {
  type DiskExportBeginRequest,
  type DiskExportBeginResponse,
  type DiskImportCommitRequest,
  ProviderService,
  type VirtualMachine,
  createLogger,
} from "@virtrigaud/contracts";
import { createProviderClient } from "@virtrigaud/contracts/client";
import { serveServices, servedService } from "@virtrigaud/contracts/server";

/** Which RPC is reporting a VM. */
export type Reporter = "listVMs" | "describe";

/** What a lying proxy changes in what the real provider answers. */
export interface Lies {
  /**
   * Changes a VM before the proxy reports it, in place; returning undefined
   * leaves the VM out of a ListVMs page (Describe then says it exists anyway).
   */
  report?(vm: VirtualMachine, by: Reporter): VirtualMachine | undefined;
  /** SnapshotDelete answers success and deletes nothing. */
  keepSnapshots?: boolean;
  /** Changes a DiskExportBegin request, in place, before it is forwarded. */
  exportRequest?(request: DiskExportBeginRequest): void;
  /** Changes a DiskExportBegin answer, in place, before it is returned. */
  exportAnswer?(answer: DiskExportBeginResponse): void;
  /** Changes a DiskImportCommit request, in place, before it is forwarded. */
  commitRequest?(request: DiskImportCommitRequest): void;
}

/** A running lying proxy. */
export interface LyingProxy {
  readonly url: string;
  /** Stops the proxy (not the provider behind it). */
  close(): Promise<void>;
}

type Implementation = Parameters<typeof servedService<typeof ProviderService>>[1];
type Forward = (request: unknown, options: { signal: AbortSignal }) => Promise<unknown>;

/**
 * A provider that forwards every RPC to a real one (`upstream`) and tells
 * the `lies` on the way back: a fault injected between vcts and an honest
 * provider, so each lie is exactly one broken promise.
 */
export async function startLyingProxy(upstream: string, lies: Lies): Promise<LyingProxy> {
  const client = createProviderClient(upstream);
  const calls = client as unknown as Record<string, Forward>;
  const forwarded = Object.fromEntries(
    ProviderService.methods.map((method) => {
      const call = calls[method.localName];
      if (!call) throw new Error(`the provider client has no ${method.localName}`);
      const forward = (request: unknown, context: { signal: AbortSignal }) =>
        call.call(client, request, { signal: context.signal });
      return [method.localName, forward];
    }),
  ) as Implementation;
  const report = (vm: VirtualMachine, by: Reporter) => (lies.report ? lies.report(vm, by) : vm);
  const server = await serveServices({
    listen: "127.0.0.1:0",
    opsListen: false,
    insecure: true,
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
    readiness: () => Promise.resolve(),
    services: [
      servedService(ProviderService, {
        ...forwarded,
        async listVMs(request, context) {
          const page = await client.listVMs(request, { signal: context.signal });
          page.vms = page.vms.flatMap((vm) => report(vm, "listVMs") ?? []);
          return page;
        },
        async describe(request, context) {
          const answer = await client.describe(request, { signal: context.signal });
          if (answer.vm) answer.vm = report(answer.vm, "describe") ?? answer.vm;
          return answer;
        },
        async diskExportBegin(request, context) {
          lies.exportRequest?.(request);
          const answer = await client.diskExportBegin(request, { signal: context.signal });
          lies.exportAnswer?.(answer);
          return answer;
        },
        diskImportCommit(request, context) {
          lies.commitRequest?.(request);
          return client.diskImportCommit(request, { signal: context.signal });
        },
        ...(lies.keepSnapshots ? { snapshotDelete: () => ({}) } : {}),
      }),
    ],
  });
  return {
    url: server.url,
    async close() {
      await server.close();
      client.close();
    },
  };
}
