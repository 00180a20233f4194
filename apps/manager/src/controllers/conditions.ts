import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Condition, ConditionSchema, ConditionStatus } from "@virtrigaud/proto/manager";

/** A condition to set: its type, whether it holds, why. */
export interface ConditionInput {
  type: string;
  status: boolean | ConditionStatus;
  reason: string;
  message?: string;
}

/**
 * Sets a condition in `conditions` (in place). lastTransitionTime changes
 * only when the status does, so rewriting the same condition writes nothing new.
 */
export function setCondition(
  conditions: Condition[],
  input: ConditionInput,
  generation: bigint,
  now: number,
): void {
  const status =
    typeof input.status === "boolean"
      ? input.status
        ? ConditionStatus.TRUE
        : ConditionStatus.FALSE
      : input.status;
  const existing = conditions.find((c) => c.type === input.type);
  if (existing) {
    if (existing.status !== status) existing.lastTransitionTime = timestampFromMs(now);
    existing.status = status;
    existing.reason = input.reason;
    existing.message = input.message ?? "";
    existing.observedGeneration = generation;
    return;
  }
  conditions.push(
    create(ConditionSchema, {
      type: input.type,
      status,
      reason: input.reason,
      message: input.message ?? "",
      lastTransitionTime: timestampFromMs(now),
      observedGeneration: generation,
    }),
  );
}

/** The condition of a type, if any. */
function getCondition(conditions: readonly Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

/** True when a condition of the type is present and True. */
export function isTrue(conditions: readonly Condition[], type: string): boolean {
  return getCondition(conditions, type)?.status === ConditionStatus.TRUE;
}
