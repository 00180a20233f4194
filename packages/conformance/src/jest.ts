/**
 * The conformance suite as jest tests, for a provider's own test suite:
 *
 * ```ts
 * describeConformance("my provider", () => ({ endpoint: server.url, insecure: true }));
 * ```
 *
 * One jest test per case, plus one that nothing was left behind.
 *
 * @packageDocumentation
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type ConformanceSession, selectCases, startConformance } from "./suite/run-conformance.js";
import type { ConformanceOptions, ConformanceReport, ProfileName } from "./suite/types.js";

/** Settings known when the tests are declared. */
export interface DescribeConformanceSettings {
  /** Profiles to run. Default: all. */
  profiles?: readonly ProfileName[];
  /** Time each case may take. Default: 5 minutes. */
  caseTimeoutMs?: number;
}

/**
 * Declares the suite's cases as jest tests against a provider. `options` is
 * called in `beforeAll`, so the endpoint can come from a server the test
 * file starts in its own `beforeAll` (declared before this call).
 */
export function describeConformance(
  title: string,
  options: () => ConformanceOptions | Promise<ConformanceOptions>,
  settings: DescribeConformanceSettings = {},
): void {
  const cases = selectCases(settings.profiles);
  const caseTimeoutMs = settings.caseTimeoutMs ?? 5 * 60_000;
  describe(title, () => {
    let session: ConformanceSession | undefined;
    let report: ConformanceReport | undefined;
    beforeAll(async () => {
      session = await startConformance({
        ...(await options()),
        ...(settings.profiles ? { profiles: settings.profiles } : {}),
        caseTimeoutMs,
      });
    }, 60_000);
    afterAll(async () => {
      if (session && !report) report = await session.finish();
    }, 120_000);
    for (const c of cases) {
      it(
        `${c.id}: ${c.title}`,
        async () => {
          if (!session)
            throw new Error("the provider could not be tested: see the error of beforeAll");
          const result = await session.runCase(c);
          if (result.status === "failed") throw new Error([result.error, ...result.log].join("\n"));
        },
        caseTimeoutMs + 120_000,
      );
    }
    it("leaves nothing behind", async () => {
      if (!session) throw new Error("the provider could not be tested: see the error of beforeAll");
      report = await session.finish();
      expect(report.leftovers).toEqual([]);
    }, 120_000);
  });
}
