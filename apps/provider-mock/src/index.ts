/**
 * The reference VirtRigaud provider, in memory.
 *
 * @packageDocumentation
 */
export {
  createMockProvider,
  capabilityFlags,
  type CapabilityFlag,
  type MockProvider,
  type MockProviderOptions,
} from "./mock-provider.js";
export {
  createFaultInjector,
  parseFaultSpec,
  checkFaultRule,
  faultModes,
  type FaultConfig,
  type FaultMode,
  type FaultRule,
} from "./faults.js";
export { readSeedInventory, type SeedInventory, type SeedVm } from "./seed-inventory.js";
