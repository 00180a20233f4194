import { fileURLToPath } from "node:url";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";

/** The built vcts command. */
export const vcts = fileURLToPath(new URL("../bin/vcts.js", import.meta.url));

// The reference provider's binary (a dev dependency of this package), run as a real process.
const mockBin = fileURLToPath(new URL("../../../apps/provider-mock/dist/main.js", import.meta.url));

/**
 * Runs provider-mock on 127.0.0.1, sharing exports on a transfer listener of
 * its own, with the given extra flags (faults, capabilities) until it serves.
 */
export function startMock(args: string[] = []): Promise<ProviderProcess> {
  return startProviderProcess({
    args: [
      mockBin,
      "--listen",
      "127.0.0.1:0",
      "--transfer-listen",
      "127.0.0.1:0",
      "--ops-listen",
      "off",
      "--insecure",
      ...args,
    ],
  });
}
