/**
 * vcts, the VirtRigaud conformance suite: proves a provider keeps the
 * ProviderService contract, and fails one that claims what it cannot do.
 * Run it as the `vcts` CLI, from code with `runConformance`, or inside a
 * provider's jest tests with `describeConformance` from
 * `@virtrigaud/conformance/jest`.
 *
 * @packageDocumentation
 */
export {
  runConformance,
  startConformance,
  selectCases,
  type ConformanceEvents,
  type ConformanceSession,
} from "./suite/run-conformance.js";
export {
  type CaseContext,
  type CaseResult,
  type CaseStatus,
  type ConformanceCase,
  type ConformanceOptions,
  type ConformanceReport,
  type Profile,
  type ProfileName,
  CaseFailure,
  profileNames,
} from "./suite/types.js";
export { profiles, allCases } from "./profiles/index.js";
export { parseImageRef } from "./suite/image-ref.js";
export { toJunitXml } from "./reporters/junit.js";
export { createLiveTable } from "./reporters/live-table.js";
