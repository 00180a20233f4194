/**
 * The harness alone: `runProvider` with every interceptor, as the provider
 * binaries run it, serving provider-mock's methods, except that Describe
 * answers with the same decoded message the bare server answers with. What
 * this costs over bare connect-node is what the harness adds, without the
 * mock's own work of building the VM from its record (which the
 * `provider-mock` server, the whole binary, still shows).
 */
import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { runProvider } from "@virtrigaud/contracts";
import { createMockProvider } from "@virtrigaud/provider-mock";
import { DescribeResponseSchema } from "@virtrigaud/proto";

await runProvider({
  name: "bench-harness",
  version: "0.1.0",
  description: "provider-mock through the full harness, Describe answering a fixed message",
  flags: { response: { type: "string" } },
  flagsHelp: "  --response FILE   the serialized DescribeResponse to answer with",
  create({ values, logger }) {
    const file = values["response"];
    if (typeof file !== "string") throw new Error("--response FILE is required");
    const response = fromBinary(DescribeResponseSchema, readFileSync(file));
    const provider = createMockProvider({ logger });
    return Promise.resolve({
      provider: { ...provider, describe: () => Promise.resolve(response) },
      close: () => provider.close(),
    });
  },
});
