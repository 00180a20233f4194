import type { AddressInfo } from "node:net";
import { createServer } from "node:net";

/**
 * A loopback port nobody listens on now. For a server that must be told its
 * port (the provider binary takes --listen HOST:PORT and does not print it
 * at log level warn); the servers written here bind port 0 instead.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
