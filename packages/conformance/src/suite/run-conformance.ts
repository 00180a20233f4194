import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { create, toJson } from "@bufbuild/protobuf";
import {
  type Capabilities,
  CapabilitiesSchema,
  ErrorReason,
  ImageSourceSchema,
  ProviderError,
} from "@virtrigaud/contracts";
import { type ProviderClient, createProviderClient } from "@virtrigaud/contracts/client";
import { allCases, profiles } from "../profiles/index.js";
import { createCaseContext } from "./case-context.js";
import { describeFailure } from "./checks.js";
import { parseImageRef } from "./image-ref.js";
import {
  CaseFailure,
  type CaseResult,
  type ConformanceCase,
  type ConformanceOptions,
  type ConformanceReport,
  type ProfileName,
  profileNames,
} from "./types.js";

/** What a run tells its observers as it goes (the live table, the jest adapter). */
export interface ConformanceEvents {
  caseStarted?(c: ConformanceCase): void;
  caseFinished?(result: CaseResult): void;
}

/** A connected run: run cases one by one (the jest adapter) or all (`runConformance`). */
export interface ConformanceSession {
  readonly capabilities: Capabilities;
  /** The selected cases, in order. */
  readonly cases: readonly ConformanceCase[];
  /** Runs one case, cleaning up after it, and records its result. */
  runCase(c: ConformanceCase): Promise<CaseResult>;
  /** Sweeps what the run left behind, closes the client, and reports. */
  finish(): Promise<ConformanceReport>;
}

/** The cases of the given profiles (default: all), in profile order. */
export function selectCases(selected: readonly ProfileName[] = profileNames): ConformanceCase[] {
  return allCases.filter((c) => selected.includes(c.profile));
}

function clientFor(options: ConformanceOptions): ProviderClient {
  const url = new URL(options.endpoint);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`endpoint ${options.endpoint} is not an http:// or https:// URL`);
  }
  if (url.protocol === "http:" && !options.insecure) {
    throw new Error(
      `endpoint ${options.endpoint} is plaintext: pass --insecure to test it without TLS`,
    );
  }
  const tls = options.tls ?? {};
  return createProviderClient(options.endpoint, {
    retry: { maxAttempts: 3, initialBackoffMs: 100 },
    ...(url.protocol === "https:"
      ? {
          tls: {
            ...(tls.caFile ? { caFile: tls.caFile } : {}),
            ...(tls.certFile ? { certFile: tls.certFile } : {}),
            ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
            ...(options.insecure ? { insecureSkipVerify: true } : {}),
          },
        }
      : {}),
  });
}

/**
 * Connects to a provider, reads its capabilities and checks Validate.
 *
 * @throws Error when the options are invalid; ProviderError when the
 * provider cannot be reached or its Validate fails.
 */
export async function startConformance(
  options: ConformanceOptions,
  events: ConformanceEvents = {},
): Promise<ConformanceSession> {
  const image = options.image ? create(ImageSourceSchema, parseImageRef(options.image)) : undefined;
  const client = clientFor(options);
  const started = Date.now();
  const prefix = `vcts-${randomBytes(3).toString("hex")}-`;
  const results: CaseResult[] = [];
  let capabilities: Capabilities;
  try {
    capabilities = (await client.getCapabilities({})).capabilities ?? create(CapabilitiesSchema);
  } catch (err) {
    client.close();
    throw err;
  }
  const selected = options.profiles ?? profileNames;
  const cases = selectCases(selected);
  const caseTimeoutMs = options.caseTimeoutMs ?? 5 * 60_000;

  const runCase = async (c: ConformanceCase): Promise<CaseResult> => {
    events.caseStarted?.(c);
    const begun = Date.now();
    const signal = AbortSignal.timeout(caseTimeoutMs);
    // Every call of the case listens to it: 20 at once is no leak.
    setMaxListeners(0, signal);
    const t = createCaseContext({
      client,
      capabilities,
      signal,
      prefix,
      caseSlug: c.id.split("/")[1]?.slice(0, 24) ?? "case",
      image,
      network: options.network,
      options,
    });
    const declared = c.declared ? c.declared(capabilities) : true;
    const mode: CaseResult["mode"] = !c.declared ? "core" : declared ? "declared" : "undeclared";
    let error: string | undefined;
    try {
      const body = declared ? c.run(t) : (c.unsupported ?? (() => Promise.resolve()))(t);
      await Promise.race([
        body,
        new Promise<never>((_, reject) =>
          signal.addEventListener(
            "abort",
            () => reject(new CaseFailure(`the case took longer than ${caseTimeoutMs} ms`)),
            {
              once: true,
            },
          ),
        ),
      ]);
    } catch (thrown) {
      error = describeFailure(thrown);
    }
    const leftovers = await t.cleanUp();
    if (leftovers.length) {
      error = [error, `cleanup could not delete: ${leftovers.join("; ")}`]
        .filter(Boolean)
        .join("; ");
    }
    const result: CaseResult = {
      id: c.id,
      profile: c.profile,
      title: c.title,
      mode,
      status: error ? "failed" : "passed",
      durationMs: Date.now() - begun,
      ...(error ? { error } : {}),
      log: t.lines,
    };
    results.push(result);
    events.caseFinished?.(result);
    return result;
  };

  const sweep = async (): Promise<string[]> => {
    const leftovers: string[] = [];
    let pageToken = "";
    do {
      const page = await client.listVMs({ namePrefix: prefix, pageToken, pageSize: 100 });
      for (const vm of page.vms) {
        leftovers.push(vm.name);
        try {
          const { task } = await client.delete({ vmId: vm.id });
          await client.waitForTask(task, {
            pollIntervalMs: 100,
            maxPollIntervalMs: 1000,
            timeoutMs: 120_000,
          });
        } catch (thrown) {
          if (!ProviderError.is(thrown, ErrorReason.NOT_FOUND))
            leftovers.push(`${vm.name} (not deleted: ${ProviderError.from(thrown).message})`);
        }
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
    return leftovers;
  };

  return {
    capabilities,
    cases,
    runCase,
    async finish() {
      let leftovers: string[];
      try {
        leftovers = await sweep();
      } catch (thrown) {
        leftovers = [`the sweep could not list VMs: ${ProviderError.from(thrown).message}`];
      } finally {
        client.close();
      }
      const failed = results.filter((r) => r.status === "failed").length;
      return {
        endpoint: options.endpoint,
        prefix,
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        provider: {
          type: capabilities.providerType,
          version: capabilities.providerVersion,
          capabilities: toJson(CapabilitiesSchema, capabilities) as Record<string, unknown>,
        },
        profiles: profiles.map((p) => ({
          name: p.name,
          description: p.description,
          declared: p.declared(capabilities),
          selected: selected.includes(p.name),
        })),
        cases: results,
        leftovers,
        summary: { passed: results.length - failed, failed, total: results.length },
        ok: failed === 0 && leftovers.length === 0 && results.length > 0,
      };
    },
  };
}

/**
 * Runs the selected profiles against a provider, `parallel` cases at a time,
 * then sweeps. The report's `ok` is true only when every case passed and
 * nothing was left behind.
 *
 * @throws as `startConformance`.
 */
export async function runConformance(
  options: ConformanceOptions,
  events: ConformanceEvents = {},
): Promise<ConformanceReport> {
  const session = await startConformance(options, events);
  const queue = [...session.cases];
  const lanes = Math.max(1, Math.min(options.parallel ?? 1, queue.length));
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await session.runCase(next);
    }),
  );
  return session.finish();
}
