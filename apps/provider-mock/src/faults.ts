import {
  type Clock,
  ErrorReason,
  ErrorReasonSchema,
  ProviderError,
  type ProviderMethodName,
} from "@virtrigaud/contracts";
import { ProviderService } from "@virtrigaud/contracts";
import { createPrng } from "./prng.js";

/**
 * What a fault does:
 * - fail: the RPC fails with `reason`.
 * - delay: the RPC waits `delayMs` first (on the provider's clock).
 * - fail-after: the first `after` matching calls succeed, every later one fails.
 * - fail-task: the RPC succeeds but its task ends with `reason`.
 * - phantom-create: Create answers success and an id but makes nothing.
 * - survive-delete: Delete answers success but the VM stays.
 * - no-ip: Describe and ListVMs never report an address.
 * - lie-power-state: Describe and ListVMs report ON as OFF and OFF as ON.
 * - ignore-acpi: the guest ignores graceful shutdown requests, so SHUTDOWN
 *   waits out its timeout and powers off hard.
 * - corrupt-chunk: DiskExportRead returns the chunk with one byte changed
 *   and its sha256 as it was, as a damaged network or disk would.
 *
 * Any rule may last `durationMs` from the first call it fires on, so that
 * "DiskImportWrite fails for a minute" is one rule.
 */
export const faultModes = [
  "fail",
  "delay",
  "fail-after",
  "fail-task",
  "phantom-create",
  "survive-delete",
  "no-ip",
  "lie-power-state",
  "ignore-acpi",
  "corrupt-chunk",
] as const;

export type FaultMode = (typeof faultModes)[number];

/** One injected fault. */
export interface FaultRule {
  /** The RPC it applies to, as a method name ("create", "listVMs"), or "*" for all. */
  operation: ProviderMethodName | "*";
  mode: FaultMode;
  /** For fail, fail-after and fail-task: the error reason, by name. Default: "unavailable". */
  reason?: string;
  /** Chance that a matching call triggers the fault, from 0 to 1. Default: 1. */
  probability?: number;
  /** For delay: milliseconds. */
  delayMs?: number;
  /** For fail-after: how many calls succeed first. */
  after?: number;
  /** Trigger at most this many times. Default: no limit. */
  times?: number;
  /** Trigger only within this many milliseconds of the first time it did. Default: no limit. */
  durationMs?: number;
}

/** Fault injection as configured: a seed and rules. */
export interface FaultConfig {
  seed?: number;
  faults: FaultRule[];
}

const methodNames = new Set<string>(ProviderService.methods.map((m) => m.localName));
const reasonsByName = new Map(
  ErrorReasonSchema.values
    .filter((v) => v.number !== 0)
    .map((v) => [v.localName.toLowerCase(), v.number as ErrorReason]),
);

const numericOptions = new Set(["probability", "delayMs", "after", "times", "durationMs"]);
const ruleKeys = new Set(["operation", "mode", "reason", ...numericOptions]);

/**
 * Checks a rule and fills its defaults.
 *
 * @throws Error naming what is wrong.
 */
export function checkFaultRule(rule: FaultRule): FaultRule {
  // Rules also come from JSON files: check shapes, not only values.
  if (typeof rule !== "object" || rule === null) throw new Error("a fault rule must be an object");
  for (const [key, value] of Object.entries(rule)) {
    if (!ruleKeys.has(key))
      throw new Error(
        `fault rule key ${JSON.stringify(key)} is not one of ${[...ruleKeys].join(", ")}`,
      );
    const want = key === "operation" || key === "mode" || key === "reason" ? "string" : "number";
    if (typeof value !== want)
      throw new Error(`fault rule ${key} must be a ${want}, got ${JSON.stringify(value)}`);
  }
  if (rule.operation === "getCapabilities") {
    throw new Error(
      "faults cannot target getCapabilities: the server reads capabilities once at start-up and answers from that copy",
    );
  }
  if (rule.operation !== "*" && !methodNames.has(rule.operation)) {
    throw new Error(
      `fault operation ${JSON.stringify(rule.operation)} is not an RPC (${[...methodNames].join(", ")} or *)`,
    );
  }
  if (!faultModes.includes(rule.mode)) {
    throw new Error(
      `fault mode ${JSON.stringify(rule.mode)} is not one of ${faultModes.join(", ")}`,
    );
  }
  if (rule.reason !== undefined && !reasonsByName.has(rule.reason)) {
    throw new Error(
      `fault reason ${JSON.stringify(rule.reason)} is not one of ${[...reasonsByName.keys()].join(", ")}`,
    );
  }
  const probability = rule.probability ?? 1;
  if (!(probability >= 0 && probability <= 1))
    throw new Error("fault probability must be within 0 and 1");
  const whole = (
    name: "delayMs" | "after" | "times" | "durationMs",
    value: number | undefined,
    least: number,
  ) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= least)) {
      throw new Error(
        `fault ${name} must be a whole number of at least ${least}, got ${String(value)}`,
      );
    }
  };
  whole("delayMs", rule.delayMs, 0);
  whole("after", rule.after, 0);
  whole("times", rule.times, 1);
  whole("durationMs", rule.durationMs, 1);
  if (rule.mode === "delay" && rule.delayMs === undefined)
    throw new Error("a delay fault needs delayMs");
  if (rule.mode === "fail-after" && rule.after === undefined)
    throw new Error("a fail-after fault needs after");
  return { ...rule, probability };
}

/**
 * Parses the command-line form of a rule: "operation:mode" followed by
 * ":key=value,key=value" options (reason, probability, delayMs, after,
 * times, durationMs), for example "create:fail:reason=unavailable,probability=0.5" or
 * "describe:delay:delayMs=200".
 *
 * @throws Error when the text does not parse.
 */
export function parseFaultSpec(spec: string): FaultRule {
  const [operation, mode, options = "", ...rest] = spec.split(":");
  if (!operation || !mode || rest.length) {
    throw new Error(`fault ${JSON.stringify(spec)} is not operation:mode[:key=value,...]`);
  }
  const rule: Record<string, unknown> = { operation, mode };
  for (const pair of options.split(",").filter(Boolean)) {
    const [key = "", value, ...extra] = pair.split("=");
    if (value === undefined || extra.length)
      throw new Error(`fault option ${JSON.stringify(pair)} is not key=value`);
    if (key === "reason") rule[key] = value;
    else if (numericOptions.has(key) && value !== "" && Number.isFinite(Number(value)))
      rule[key] = Number(value);
    else if (numericOptions.has(key))
      throw new Error(`fault option ${key} must be a number, got ${JSON.stringify(value)}`);
    else
      throw new Error(
        `fault option ${JSON.stringify(key)} is not one of reason, ${[...numericOptions].join(", ")}`,
      );
  }
  return checkFaultRule(rule as unknown as FaultRule);
}

interface RuleState {
  rule: FaultRule;
  matched: number;
  fired: number;
  /** When it first fired, on the clock: durationMs counts from there. */
  firstFiredAt: number | undefined;
}

/** Decides, deterministically, which calls meet which faults. */
export interface FaultInjector {
  /** Runs at the start of every RPC: delays, and throws for fail and fail-after faults. */
  enter(operation: ProviderMethodName, signal: AbortSignal): Promise<void>;
  /** The reason a task of this operation should fail with, if a fail-task fault fires. */
  taskFailure(operation: ProviderMethodName): ProviderError | undefined;
  /** True when a fault of this mode fires for this operation. */
  fires(
    operation: ProviderMethodName,
    mode:
      | "phantom-create"
      | "survive-delete"
      | "no-ip"
      | "lie-power-state"
      | "ignore-acpi"
      | "corrupt-chunk",
  ): boolean;
}

/** Creates an injector; with no rules it never fires. */
export function createFaultInjector(config: FaultConfig, clock: Clock): FaultInjector {
  const random = createPrng(config.seed ?? 1);
  const states: RuleState[] = config.faults.map((rule) => ({
    rule: checkFaultRule(rule),
    matched: 0,
    fired: 0,
    firstFiredAt: undefined,
  }));

  const failure = (rule: FaultRule, operation: string) => {
    const reason = reasonsByName.get(rule.reason ?? "unavailable") ?? ErrorReason.UNAVAILABLE;
    // A retry time only where the contract has one.
    const retryAfterMs =
      reason === ErrorReason.RETRYABLE || reason === ErrorReason.RESOURCE_EXHAUSTED
        ? 100
        : undefined;
    return new ProviderError(reason, `injected fault: ${operation} ${rule.mode}`, { retryAfterMs });
  };

  /** The rules of `mode` that fire for this call, counting the match. */
  const firing = (operation: ProviderMethodName, mode: FaultMode): RuleState[] => {
    const fired: RuleState[] = [];
    for (const state of states) {
      const { rule } = state;
      if (rule.mode !== mode || (rule.operation !== "*" && rule.operation !== operation)) continue;
      state.matched++;
      if (rule.times !== undefined && state.fired >= rule.times) continue;
      const { firstFiredAt } = state;
      if (
        rule.durationMs !== undefined &&
        firstFiredAt !== undefined &&
        clock.now() - firstFiredAt >= rule.durationMs
      )
        continue;
      if (mode === "fail-after" && state.matched <= (rule.after ?? 0)) continue;
      if ((rule.probability ?? 1) < 1 && random() >= (rule.probability ?? 1)) continue;
      state.fired++;
      state.firstFiredAt ??= clock.now();
      fired.push(state);
    }
    return fired;
  };

  return {
    async enter(operation, signal) {
      for (const { rule } of firing(operation, "delay"))
        await clock.sleep(rule.delayMs ?? 0, signal);
      const [failing] = [...firing(operation, "fail"), ...firing(operation, "fail-after")];
      if (failing) throw failure(failing.rule, operation);
    },
    taskFailure(operation) {
      const [failing] = firing(operation, "fail-task");
      return failing && failure(failing.rule, operation);
    },
    fires(operation, mode) {
      return firing(operation, mode).length > 0;
    },
  };
}
