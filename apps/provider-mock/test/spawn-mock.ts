import { fileURLToPath } from "node:url";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";

/** The repository's root directory. */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const bin = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** Runs the built virtrigaud-provider-mock on 127.0.0.1 with the given flags until it serves. */
export function spawnMock(args: string[]): Promise<ProviderProcess> {
  return startProviderProcess({
    args: [bin, "--listen", "127.0.0.1:0", "--ops-listen", "off", ...args],
  });
}
