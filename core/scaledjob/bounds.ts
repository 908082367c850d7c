/**
 * A ScaledJob's effective replica bounds, as KEDA computes them (ScaledJob.MinReplicaCount and
 * MaxReplicaCount in scaledjob_types.go).
 *
 * D9, followed as KEDA: when both are set and min ≤ max, the effective max is `max − min`, the budget of
 * jobs above the min, not the total.
 */

export const DEFAULT_SCALEDJOB_MIN_REPLICA_COUNT = 0;
export const DEFAULT_SCALEDJOB_MAX_REPLICA_COUNT = 100;

export interface ScaledJobReplicaSpec {
  readonly minReplicaCount?: number | undefined;
  readonly maxReplicaCount?: number | undefined;
}

/** `min(minReplicaCount, maxReplicaCount)` when both are set, else minReplicaCount, default 0. */
export function effectiveMinReplicaCount(spec: ScaledJobReplicaSpec): number {
  const { minReplicaCount: min, maxReplicaCount: max } = spec;
  if (min === undefined) return DEFAULT_SCALEDJOB_MIN_REPLICA_COUNT;
  if (max !== undefined && min > max) return max;
  return min;
}

/** 100 when maxReplicaCount is unset; maxReplicaCount when min > max; otherwise `max − effective min` (D9). */
export function effectiveMaxReplicaCount(spec: ScaledJobReplicaSpec): number {
  const { minReplicaCount: min, maxReplicaCount: max } = spec;
  if (max === undefined) return DEFAULT_SCALEDJOB_MAX_REPLICA_COUNT;
  if (min !== undefined && min > max) return max;
  return max - effectiveMinReplicaCount(spec);
}
