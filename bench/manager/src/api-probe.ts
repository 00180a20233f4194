// Probes the manager's API from a process of its own, so that what it
// measures is the manager's answer time, not the event loop of the process
// that runs the attacks. Each probe is a Get on a kept connection, then one
// on a new connection (as each vrtg invocation makes), every 200 ms; each
// outcome is printed as a JSON line. It stops when its stdin closes.
//
//   node dist/api-probe.js MANAGER_URL
import { Kind, ManagerService } from "@virtrigaud/proto/manager";
import { createServiceClient } from "@virtrigaud/contracts/client";

/** One probe's outcome, as printed. */
export interface ProbeOutcome {
  connection: "kept" | "new";
  /** Seconds since the probe process started. */
  at: number;
  ms?: number;
  error?: string;
}

const url = process.argv[2];
if (!url) throw new Error("usage: api-probe MANAGER_URL");
const started = performance.now();
let probing = true;
process.stdin.on("end", () => (probing = false)).resume();

const print = (outcome: ProbeOutcome) => process.stdout.write(`${JSON.stringify(outcome)}\n`);
const probe = async (
  connection: ProbeOutcome["connection"],
  client: ReturnType<typeof createServiceClient<typeof ManagerService>>,
) => {
  const t = performance.now();
  const at = Number(((t - started) / 1000).toFixed(1));
  try {
    await client.get({ kind: Kind.PROVIDER, name: "mock" }, { timeoutMs: 5000 });
    print({ connection, at, ms: performance.now() - t });
  } catch (err) {
    print({ connection, at, error: (err as Error).message.slice(0, 120) });
  }
};

const kept = createServiceClient(ManagerService, url, { retry: false });
while (probing) {
  await probe("kept", kept);
  const once = createServiceClient(ManagerService, url, { retry: false });
  await probe("new", once);
  once.close();
  await new Promise((r) => setTimeout(r, 200));
}
kept.close();
