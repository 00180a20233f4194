import { runProvider } from "@virtrigaud/contracts";
import { openCallLog } from "./call-log.js";
import { createMockProvider } from "./mock-provider.js";
import { mockFlags, mockFlagsHelp, mockOptionsFromFlags } from "./mock-flags.js";

await runProvider({
  name: "virtrigaud-provider-mock",
  version: "0.1.0",
  description: "the reference VirtRigaud provider, in memory, with seeded fault injection",
  flags: mockFlags,
  flagsHelp: mockFlagsHelp,
  create({ values, logger }) {
    const provider = createMockProvider({ ...mockOptionsFromFlags(values), logger });
    const callLogFile = values["call-log"];
    const callLog = typeof callLogFile === "string" ? openCallLog(callLogFile) : undefined;
    return Promise.resolve({
      provider,
      close: async () => {
        await provider.close();
        callLog?.close();
      },
      ...(callLog ? { callObservers: [callLog.observer] } : {}),
    });
  },
});
