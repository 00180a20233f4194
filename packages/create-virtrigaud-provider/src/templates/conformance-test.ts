/** The generated project's test/conformance.test.ts: vcts against the built provider, as a process. */
export const conformanceTestSource = `import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "@jest/globals";
import { describeConformance } from "@virtrigaud/conformance/jest";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";

// The provider as it runs in production: the built binary, on a free port.
const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));

let provider: ProviderProcess;
beforeAll(async () => {
  provider = await startProviderProcess({ args: [main, "--listen", "127.0.0.1:0", "--ops-listen", "off", "--insecure"] });
});
afterAll(() => provider.stop());

// Every profile: what the provider declares must work, the rest must answer UNSUPPORTED.
describeConformance("virtrigaud-provider-{{providerType}}", () => ({ endpoint: provider.url, insecure: true, settleMs: 5000 }));
`;
