import type { ConformanceCase, Profile } from "../suite/types.js";
import { agreementCases, agreementProfile } from "./agreement.js";
import { badInputCases, badInputProfile } from "./bad-input.js";
import { cloneCases, cloneProfile } from "./clone.js";
import { concurrencyCases, concurrencyProfile } from "./concurrency.js";
import { coreCases, coreProfile } from "./core.js";
import { deadlineCases, deadlineProfile } from "./deadline.js";
import { diskSyncCases, diskSyncProfile } from "./disk-sync.js";
import { diskCases, diskProfile } from "./disk.js";
import { imageCases, imageProfile } from "./image.js";
import { powerCases, powerProfile } from "./power.js";
import { reconfigureCases, reconfigureProfile } from "./reconfigure.js";
import { snapshotCases, snapshotProfile } from "./snapshot.js";

/** Every profile, in the order the suite runs them. */
export const profiles: readonly Profile[] = [
  coreProfile,
  powerProfile,
  reconfigureProfile,
  agreementProfile,
  snapshotProfile,
  cloneProfile,
  imageProfile,
  diskProfile,
  diskSyncProfile,
  badInputProfile,
  concurrencyProfile,
  deadlineProfile,
];

/** Every case, in profile order. */
export const allCases: readonly ConformanceCase[] = [
  ...coreCases,
  ...powerCases,
  ...reconfigureCases,
  ...agreementCases,
  ...snapshotCases,
  ...cloneCases,
  ...imageCases,
  ...diskCases,
  ...diskSyncCases,
  ...badInputCases,
  ...concurrencyCases,
  ...deadlineCases,
];
