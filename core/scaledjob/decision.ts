/**
 * How many Jobs a ScaledJob creates this poll (KEDA's RequestJobScale, getScalingDecision and createJobs).
 * The running and pending counts come from
 * countRunningAndPendingJobs (jobs.ts) or from the dispatcher's own bookkeeping.
 */
import { effectiveMaxReplicaCount, effectiveMinReplicaCount, type ScaledJobReplicaSpec } from "./bounds.js";
import { aggregateScaledJobMetrics, type TriggerReading } from "./metrics.js";
import {
  effectiveMaxScale as strategyEffectiveMaxScale,
  resolveScalingStrategy,
  type ScalingStrategy,
  type ScalingStrategySpec,
} from "./strategy.js";

export interface ScaledJobScalingSpec extends ScaledJobReplicaSpec {
  readonly scalingStrategy?:
    (ScalingStrategySpec & { readonly multipleScalersCalculation?: string | undefined }) | undefined;
}

export interface JobCounts {
  /** Jobs of the ScaledJob without a True Complete or Failed condition. */
  readonly running: number;
  /** Running jobs none of whose pods has started (or met pendingPodConditions). */
  readonly pending: number;
}

export interface ConditionValue {
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
}

export interface ScaledJobDecision {
  /** Jobs to create now (≥ 0). */
  readonly jobsToCreate: number;
  readonly isActive: boolean;
  readonly isError: boolean;
  /** Indices of the triggers that were active. */
  readonly activeTriggers: readonly number[];
  /** Combined queue length, ceil (KEDA's scaleTo before the strategy). */
  readonly queueLength: number;
  /** Combined job budget, ceil, at most the effective max (KEDA's maxScale). */
  readonly maxScale: number;
  /** The strategy's effective max scale, negative values made 0. */
  readonly effectiveMaxScale: number;
  /** The queue length after the strategy (eager: the effective max replica count). */
  readonly scaleTo: number;
  readonly minReplicaCount: number;
  readonly maxReplicaCount: number;
  readonly strategy: ScalingStrategy;
  /** True when this poll only tops the running jobs up to minReplicaCount (the strategy is skipped). */
  readonly minTopUp: boolean;
  /** The Ready condition KEDA sets for this poll. */
  readonly ready: ConditionValue;
  /** The Active condition KEDA sets for this poll. */
  readonly active: ConditionValue;
}

/** Running jobs below the min are topped up; otherwise the strategy decides on the jobs above the min. */
export function scalingDecision(
  strategy: ScalingStrategy,
  counts: JobCounts,
  minReplicaCount: number,
  maxReplicaCount: number,
  maxScale: number,
  scaleTo: number,
): { effectiveMaxScale: number; scaleTo: number; minTopUp: boolean } {
  if (counts.running < minReplicaCount) {
    const missing = minReplicaCount - counts.running;
    return { effectiveMaxScale: missing, scaleTo: missing, minTopUp: true };
  }
  const r = strategyEffectiveMaxScale(
    strategy,
    maxScale,
    counts.running - minReplicaCount,
    counts.pending,
    maxReplicaCount,
    scaleTo,
  );
  return { ...r, minTopUp: false };
}

export function scaledJobDecision(
  spec: ScaledJobScalingSpec,
  readings: readonly TriggerReading[],
  counts: JobCounts,
): ScaledJobDecision {
  const minReplicaCount = effectiveMinReplicaCount(spec);
  const maxReplicaCount = effectiveMaxReplicaCount(spec);
  const aggregated = aggregateScaledJobMetrics(
    readings,
    spec.scalingStrategy?.multipleScalersCalculation,
    spec,
  );
  const strategy = resolveScalingStrategy(spec.scalingStrategy);
  const d = scalingDecision(
    strategy,
    counts,
    minReplicaCount,
    maxReplicaCount,
    aggregated.maxScale,
    aggregated.scaleTo,
  );
  const effectiveMaxScale = Math.max(0, d.effectiveMaxScale);
  const jobsToCreate =
    aggregated.isActive && effectiveMaxScale > 0 ? Math.max(0, Math.min(d.scaleTo, effectiveMaxScale)) : 0;

  let ready: ConditionValue = {
    status: "True",
    reason: "ScaledJobReady",
    message: "ScaledJob is defined correctly and is ready for scaling",
  };
  if (aggregated.isError) {
    ready = aggregated.isActive
      ? {
          status: "Unknown",
          reason: "PartialTriggerError",
          message: "Some triggers defined in ScaledJob are not working correctly",
        }
      : {
          status: "False",
          reason: "TriggerError",
          message: "Triggers defined in ScaledJob are not working correctly",
        };
  }
  const active: ConditionValue = aggregated.isActive
    ? { status: "True", reason: "ScalerActive", message: "Scaling is performed because triggers are active" }
    : {
        status: "False",
        reason: "ScalerNotActive",
        message: "Scaling is not performed because triggers are not active",
      };

  return {
    jobsToCreate,
    isActive: aggregated.isActive,
    isError: aggregated.isError,
    activeTriggers: aggregated.activeTriggers,
    queueLength: aggregated.scaleTo,
    maxScale: aggregated.maxScale,
    effectiveMaxScale,
    scaleTo: d.scaleTo,
    minReplicaCount,
    maxReplicaCount,
    strategy,
    minTopUp: d.minTopUp,
    ready,
    active,
  };
}
