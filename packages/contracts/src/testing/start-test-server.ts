import { createLogger } from "../logging/create-logger.js";
import type { Provider } from "../provider.js";
import {
  type ProviderClient,
  type ProviderClientOptions,
  createProviderClient,
} from "../client/create-provider-client.js";
import type { ServeOptions } from "../server/serve-options.js";
import { type ProviderServer, serveProvider } from "../server/serve-provider.js";

/** Options of `startTestServer`. */
export interface TestServerOptions {
  /** Over the defaults: plaintext on 127.0.0.1 port 0, no ops port, no signal handlers, silent logs. */
  serve?: ServeOptions;
  /** Over the defaults: retries off, so tests see each failure. */
  client?: ProviderClientOptions;
}

/** A provider served on loopback, with a client for it. */
export interface TestServer {
  server: ProviderServer;
  client: ProviderClient;
  /** Drains the server, then closes the client. */
  close(): Promise<void>;
}

/** Serves `provider` on a free loopback port and connects a client to it. */
export async function startTestServer(
  provider: Provider,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const server = await serveProvider(provider, {
    listen: "127.0.0.1:0",
    opsListen: false,
    insecure: true,
    handleSignals: false,
    drainTimeoutMs: 2000,
    logger: createLogger({ level: "silent" }),
    ...options.serve,
  });
  const client = createProviderClient(server.url, { retry: false, ...options.client });
  return {
    server,
    client,
    async close() {
      await server.close();
      client.close();
    },
  };
}
