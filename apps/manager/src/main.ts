import { parseArgs } from "node:util";
import {
  ServeConfigError,
  createLogger,
  parseByteSize,
  parseDuration,
} from "@virtrigaud/contracts";
import {
  formatServeFlagsHelp,
  serveFlags,
  serveOptionsFromFlags,
  setupTracing,
} from "@virtrigaud/contracts/server";
import { startManager } from "./manager.js";
import { StoreInUseError } from "./store/resource-store.js";

const name = "virtrigaud-manager";
const managerFlags = {
  data: { type: "string" },
  "health-interval": { type: "string" },
  "drift-page-interval": { type: "string" },
  "min-probe-interval": { type: "string" },
  "max-probe-interval": { type: "string" },
  "vm-workers": { type: "string" },
  "watch-max-pending": { type: "string" },
  "watch-max-pending-bytes": { type: "string" },
} as const;

const usage = `${name}: declarative VMs reconciled across providers

Usage: ${name} --data DIR [flags]

${formatServeFlagsHelp({ listen: ":9090", opsListen: ":9091" })}

Manager flags (environment fallback in brackets):
  --data DIR                    where the store lives (one SQLite file, manager.db) [VIRTRIGAUD_DATA]
  --health-interval DURATION    between Validate probes of a healthy provider (default 10s)
  --drift-page-interval DURATION  between ListVMs pages of each provider's drift sweep (default 5s)
  --min-probe-interval DURATION   before the first probe back of a failing provider (default 1s);
                                  the wait doubles after each failed probe
  --max-probe-interval DURATION   the longest wait between probes of a failing provider (default 30s)
  --vm-workers N                VirtualMachine reconciles at once (default 256)
  --watch-max-pending N         changes one watch may hold for a client reading slower than they come; past it
                                the watch ends (RESOURCE_EXHAUSTED) and the client resumes (default 10000)
  --watch-max-pending-bytes SIZE  the same bound in bytes, or with Ki/Mi/Gi (default 16Mi)
`;

function duration(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch (err) {
    throw new ServeConfigError(`--${flag}: ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  let values: ReturnType<
    typeof parseArgs<{ options: typeof serveFlags & typeof managerFlags }>
  >["values"];
  let serve: ReturnType<typeof serveOptionsFromFlags>;
  let dataDir: string;
  let healthIntervalMs: number | undefined;
  let driftPageIntervalMs: number | undefined;
  let minProbeIntervalMs: number | undefined;
  let maxProbeIntervalMs: number | undefined;
  let vmWorkers: number | undefined;
  const watch: { maxPendingEvents?: number; maxPendingBytes?: number } = {};
  try {
    values = parseArgs({
      options: { ...serveFlags, ...managerFlags },
      strict: true,
      allowPositionals: false,
    }).values;
    if (values.help) {
      process.stdout.write(usage);
      return;
    }
    serve = serveOptionsFromFlags(values);
    dataDir = values.data ?? process.env["VIRTRIGAUD_DATA"] ?? "";
    if (!dataDir) throw new ServeConfigError("--data DIR is required");
    healthIntervalMs = duration("health-interval", values["health-interval"]);
    driftPageIntervalMs = duration("drift-page-interval", values["drift-page-interval"]);
    minProbeIntervalMs = duration("min-probe-interval", values["min-probe-interval"]);
    maxProbeIntervalMs = duration("max-probe-interval", values["max-probe-interval"]);
    if ((minProbeIntervalMs ?? 1000) > (maxProbeIntervalMs ?? 30_000))
      throw new ServeConfigError("--min-probe-interval must not exceed --max-probe-interval");
    if (values["vm-workers"] !== undefined) {
      vmWorkers = Number(values["vm-workers"]);
      if (!Number.isInteger(vmWorkers) || vmWorkers < 1)
        throw new ServeConfigError("--vm-workers must be a positive whole number");
    }
    if (values["watch-max-pending"] !== undefined) {
      watch.maxPendingEvents = Number(values["watch-max-pending"]);
      if (!Number.isInteger(watch.maxPendingEvents) || watch.maxPendingEvents < 1)
        throw new ServeConfigError("--watch-max-pending must be a positive whole number");
    }
    if (values["watch-max-pending-bytes"] !== undefined) {
      let bytes: number;
      try {
        bytes = parseByteSize(values["watch-max-pending-bytes"]);
      } catch (err) {
        throw new ServeConfigError(`--watch-max-pending-bytes: ${(err as Error).message}`);
      }
      if (bytes < 1) throw new ServeConfigError("--watch-max-pending-bytes must be at least 1");
      watch.maxPendingBytes = bytes;
    }
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const { logLevel, ...serveOptions } = serve;
  const logger = createLogger({ name, level: logLevel });
  const tracing = setupTracing({ serviceName: name, serviceVersion: "0.1.0" });
  try {
    const manager = await startManager({
      dataDir,
      logger,
      serve: {
        ...serveOptions,
        listen: serveOptions.listen ?? ":9090",
        opsListen: serveOptions.opsListen ?? ":9091",
        serviceName: name,
      },
      ...(healthIntervalMs ? { healthIntervalMs } : {}),
      ...(driftPageIntervalMs ? { driftPageIntervalMs } : {}),
      ...(minProbeIntervalMs ? { minProbeIntervalMs } : {}),
      ...(maxProbeIntervalMs ? { maxProbeIntervalMs } : {}),
      ...(vmWorkers ? { vmWorkers } : {}),
      watch,
    });
    await manager.server?.closed;
    // Closed by a signal: stop the controllers and the store too.
    await manager.close();
    process.exitCode = 0;
  } catch (err) {
    if (err instanceof ServeConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof StoreInUseError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      logger.fatal({ err }, "the manager failed to start");
      process.exitCode = 1;
    }
  } finally {
    await tracing.shutdown();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}

await main();
