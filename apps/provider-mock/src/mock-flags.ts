import {
  type FlagValues,
  ServeConfigError,
  parseByteSize,
  parseDuration,
} from "@virtrigaud/contracts";
import { type FaultConfig, type FaultRule, checkFaultRule, parseFaultSpec } from "./faults.js";
import { type CapabilityFlag, type MockProviderOptions, capabilityFlags } from "./mock-provider.js";
import { readJsonFile } from "./read-json-file.js";
import { readSeedInventory } from "./seed-inventory.js";

/** The mock's own command-line flags. */
export const mockFlags = {
  latency: { type: "string" },
  seed: { type: "string" },
  state: { type: "string" },
  inventory: { type: "string" },
  faults: { type: "string" },
  fault: { type: "string", multiple: true },
  disable: { type: "string" },
  "disk-bytes": { type: "string" },
  "disk-memory": { type: "string" },
  "guest-writes": { type: "string" },
  "call-log": { type: "string" },
} as const;

export const mockFlagsHelp = `Mock provider flags:
  --latency DURATION        how long every task takes, for example 200ms (default 0)
  --seed N                  seed of generated addresses and fault decisions (default 1)
  --state FILE              keep the inventory in this JSON file across restarts
  --inventory FILE          JSON seed inventory: {"templates": [...], "vms": [{"name": ..., ...}]}
  --faults FILE             JSON fault config: {"seed": N, "faults": [{"operation", "mode", ...}]}
  --fault SPEC              one fault, repeatable: operation:mode[:key=value,...], for example
                            create:fail:reason=unavailable,probability=0.5  describe:lie-power-state
                            Modes: fail, delay, fail-after, fail-task, phantom-create, survive-delete,
                            no-ip, lie-power-state, ignore-acpi, corrupt-chunk
  --disk-bytes SIZE         length of each made-up disk's bytes, as exported (default 8Mi)
  --disk-memory SIZE        most bytes of disk exports and imports held in memory (default 1Gi)
  --guest-writes SIZE       a running guest writes SIZE bytes into its boot disk right after each
                            snapshot and as it shuts down (default 0: guests write nothing)
  --disable CAP[,CAP]       declare capabilities unsupported: ${Object.keys(capabilityFlags).join(", ")}
  --call-log FILE           append one JSON line per call to FILE: {at, method, term, ok}, term being
                            the caller's virtrigaud-leader-term header (for tests of manager replicas)`;

function text(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * Turns the mock's flags into provider options.
 *
 * @throws ServeConfigError naming the flag or file that does not parse, so
 * the binary exits with status 2 as for any bad flag.
 */
export function mockOptionsFromFlags(values: FlagValues): MockProviderOptions {
  try {
    return parseMockFlags(values);
  } catch (err) {
    throw new ServeConfigError((err as Error).message, { cause: err });
  }
}

function parseMockFlags(values: FlagValues): MockProviderOptions {
  const options: MockProviderOptions = {};
  const latency = text(values, "latency");
  if (latency !== undefined) options.latencyMs = parseDuration(latency);
  const seed = text(values, "seed");
  if (seed !== undefined) {
    options.seed = Number(seed);
    if (!Number.isInteger(options.seed)) throw new Error(`--seed must be an integer, got ${seed}`);
  }
  const state = text(values, "state");
  if (state) options.stateFile = state;
  const inventory = text(values, "inventory");
  if (inventory) options.inventory = readSeedInventory(inventory);

  const diskBytes = text(values, "disk-bytes");
  if (diskBytes !== undefined) options.diskBytes = parseByteSize(diskBytes);
  const diskMemory = text(values, "disk-memory");
  if (diskMemory !== undefined) options.diskMemoryBytes = parseByteSize(diskMemory);
  const guestWrites = text(values, "guest-writes");
  if (guestWrites !== undefined) options.guestWriteBytes = parseByteSize(guestWrites);

  const faults: FaultRule[] = [];
  const faultsFile = text(values, "faults");
  if (faultsFile) {
    const config = readJsonFile(faultsFile) as FaultConfig;
    if (!Array.isArray(config.faults)) throw new Error(`${faultsFile}: "faults" must be a list`);
    faults.push(...config.faults.map(checkFaultRule));
    if (config.seed !== undefined && options.seed === undefined) options.seed = config.seed;
  }
  const specs = values["fault"];
  for (const spec of Array.isArray(specs) ? specs : []) faults.push(parseFaultSpec(String(spec)));
  if (faults.length) options.faults = faults;

  const disable = text(values, "disable");
  if (disable) {
    const flags = disable
      .split(",")
      .map((f) => f.trim())
      .filter(Boolean);
    for (const flag of flags) {
      if (!(flag in capabilityFlags)) {
        throw new Error(
          `--disable: ${flag} is not one of ${Object.keys(capabilityFlags).join(", ")}`,
        );
      }
    }
    options.disable = flags as CapabilityFlag[];
  }
  return options;
}
