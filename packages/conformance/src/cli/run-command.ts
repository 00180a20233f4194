import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ProviderError, parseDuration } from "@virtrigaud/contracts";
import { createLiveTable } from "../reporters/live-table.js";
import { toJunitXml } from "../reporters/junit.js";
import { runConformance, selectCases } from "../suite/run-conformance.js";
import { type ConformanceOptions, type ProfileName, profileNames } from "../suite/types.js";

/** A command line that cannot run; exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parses the options of `vcts run`.
 *
 * @throws UsageError naming the bad flag.
 */
function parseRunOptions(args: string[]): ConformanceOptions & { junit?: string; json?: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        endpoint: { type: "string" },
        insecure: { type: "boolean" },
        ca: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        profile: { type: "string" },
        image: { type: "string" },
        network: { type: "string" },
        "image-path": { type: "string" },
        "image-url": { type: "string" },
        "export-disk": { type: "string" },
        timeout: { type: "string" },
        settle: { type: "string" },
        parallel: { type: "string" },
        junit: { type: "string" },
        json: { type: "string" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!values.endpoint) throw new UsageError("--endpoint is required");
  if (Boolean(values.cert) !== Boolean(values.key))
    throw new UsageError("--cert and --key go together");
  const profiles = values.profile
    ?.split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of profiles ?? []) {
    if (!profileNames.includes(p as ProfileName)) {
      throw new UsageError(`--profile ${p} is not one of ${profileNames.join(", ")}`);
    }
  }
  const duration = (flag: "timeout" | "settle") => {
    try {
      const text = values[flag];
      return text ? parseDuration(text) : undefined;
    } catch (err) {
      throw new UsageError(`--${flag}: ${(err as Error).message}`);
    }
  };
  const caseTimeoutMs = duration("timeout");
  const settleMs = duration("settle");
  const exportDisk = values["export-disk"] && parseExportDisk(values["export-disk"]);
  const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
  if (parallel !== undefined && !(Number.isInteger(parallel) && parallel >= 1)) {
    throw new UsageError(`--parallel must be a whole number of at least 1, got ${values.parallel}`);
  }
  return {
    endpoint: values.endpoint,
    ...(values.insecure ? { insecure: true } : {}),
    ...(values.ca || values.cert
      ? {
          tls: {
            ...(values.ca ? { caFile: values.ca } : {}),
            ...(values.cert ? { certFile: values.cert } : {}),
            ...(values.key ? { keyFile: values.key } : {}),
          },
        }
      : {}),
    ...(profiles ? { profiles: profiles as ProfileName[] } : {}),
    ...(values.image ? { image: values.image } : {}),
    ...(values.network ? { network: values.network } : {}),
    ...(values["image-path"] ? { imagePath: values["image-path"] } : {}),
    ...(values["image-url"] ? { imageUrl: values["image-url"] } : {}),
    ...(exportDisk ? { exportDisk } : {}),
    ...(caseTimeoutMs === undefined ? {} : { caseTimeoutMs }),
    ...(settleMs === undefined ? {} : { settleMs }),
    ...(parallel === undefined ? {} : { parallel }),
    ...(values.junit ? { junit: values.junit } : {}),
    ...(values.json ? { json: values.json } : {}),
  };
}

/**
 * `--export-disk VM_ID/DISK`, split at the last slash (disk names have none).
 *
 * @throws UsageError when either part is empty.
 */
function parseExportDisk(text: string): { vmId: string; diskName: string } {
  const slash = text.lastIndexOf("/");
  const vmId = text.slice(0, Math.max(slash, 0));
  const diskName = text.slice(slash + 1);
  if (slash < 0 || !vmId || !diskName) {
    throw new UsageError(`--export-disk must be VM_ID/DISK, got ${JSON.stringify(text)}`);
  }
  return { vmId, diskName };
}

/** `vcts run`: returns the exit status. */
export async function runCommand(args: string[]): Promise<number> {
  const options = parseRunOptions(args);
  const table = createLiveTable(selectCases(options.profiles));
  let report;
  try {
    report = await runConformance(options, table);
  } catch (err) {
    table.done();
    const message =
      err instanceof Error && !(err instanceof ProviderError) && err.name === "Error"
        ? err.message
        : ProviderError.from(err).message;
    process.stderr.write(`vcts: cannot test ${options.endpoint}: ${message}\n`);
    return 1;
  }
  table.done();
  if (options.junit) writeFileSync(options.junit, toJunitXml(report));
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  const declared = report.profiles
    .filter((p) => p.selected)
    .map((p) => `${p.name}${p.declared ? "" : " (undeclared)"}`);
  const lines = [
    "",
    `provider: ${report.provider.type} ${report.provider.version} at ${report.endpoint}`,
    `profiles: ${declared.join(", ")}`,
    `cases: ${report.summary.passed} passed, ${report.summary.failed} failed, of ${report.summary.total}`,
    report.leftovers.length
      ? `left behind (now swept): ${report.leftovers.join(", ")}`
      : `left behind: nothing (prefix ${report.prefix})`,
    ...(options.junit ? [`junit: ${options.junit}`] : []),
    ...(options.json ? [`json: ${options.json}`] : []),
    report.ok ? "PASS" : "FAIL",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return report.ok ? 0 : 1;
}
