/** The generated project's src/main.ts: the provider binary. */
export const mainSource = `import { runProvider } from "@virtrigaud/contracts";
import { createInMemoryBackend } from "./backend.js";
import { create{{pascalName}}Provider, providerVersion } from "./provider.js";

await runProvider({
  name: "virtrigaud-provider-{{providerType}}",
  version: providerVersion,
  description: "the {{providerType}} VirtRigaud provider",
  create() {
    // Build your real backend here, from your own flags (the flags option) and credentials (loadCredentials).
    return Promise.resolve({ provider: create{{pascalName}}Provider(createInMemoryBackend()) });
  },
});
`;
