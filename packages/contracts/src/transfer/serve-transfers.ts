import type { Capabilities } from "@virtrigaud/proto";
import type { Logger } from "../logging/create-logger.js";
import type { Provider } from "../provider.js";
import type { CompiledServeOptions, ServeOptions } from "../server/serve-options.js";
import { urlOf } from "../server/serve-services.js";
import { loadTlsFiles, watchTlsFiles } from "../server/tls.js";
import { type DiskTransfers, createDiskTransfers } from "./disk-transfers.js";
import { type TransferListener, listenTransfers } from "./transfer-listener.js";

/** A provider's disk transfers as served: the RPCs, and the listener when there is one. */
export interface ServedTransfers {
  /** The provider's capabilities with disk_export_share and disk_import_pull as served. */
  readonly capabilities: Capabilities;
  /** The provider with DiskExportShare and DiskImportPull (see `createDiskTransfers`). */
  readonly provider: DiskTransfers["provider"];
  /** The transfer listener's base URL; undefined without `transferListen`. */
  readonly url: string | undefined;
  /** Closes the listener and stops every pull. */
  stop(): Promise<void>;
}

/**
 * DiskExportShare and DiskImportPull for `provider`, and, with
 * `transferListen`, the listener its shared exports are read on, opened
 * before the RPC port so that a share knows its address from the first
 * call. Its TLS is the server's certificate without client certificates,
 * reloaded as the RPC port's is.
 */
export async function serveTransfers(
  provider: Provider,
  declared: Capabilities,
  config: CompiledServeOptions,
  options: Pick<ServeOptions, "insecure" | "transferUrl">,
  logger: Logger,
): Promise<ServedTransfers> {
  let url: string | undefined;
  const transfers = createDiskTransfers(provider, declared, {
    listens: Boolean(config.transferListen),
    allowPlaintextPulls: Boolean(options.insecure),
    logger,
    baseUrl: () => url,
  });
  let listener: TransferListener | undefined;
  let stopWatchingTls = () => {};
  if (config.transferListen) {
    const tlsFiles = config.tls && { certFile: config.tls.certFile, keyFile: config.tls.keyFile };
    const opened = await listenTransfers({
      ...config.transferListen,
      tls: tlsFiles ? loadTlsFiles(tlsFiles) : undefined,
      limits: config,
      tickets: transfers.tickets,
      read: transfers.read,
      logger,
    });
    listener = opened;
    url =
      options.transferUrl?.replace(/\/$/, "") ??
      urlOf(config.tls ? "https" : "http", opened.address);
    if (tlsFiles)
      stopWatchingTls = watchTlsFiles(tlsFiles, config.tlsReloadIntervalMs, logger, (m) =>
        opened.setSecureContext(m),
      );
  }
  return {
    capabilities: transfers.capabilities,
    provider: transfers.provider,
    url,
    async stop() {
      stopWatchingTls();
      await Promise.all([listener?.close(), transfers.close()]);
    },
  };
}
