/**
 * A ScaledJob's triggers combined into one queue length and one job budget per poll (KEDA's
 * pkg/scaling/scaledjob/metrics.go and getScaledJobMetrics).
 */
import { effectiveMaxReplicaCount, effectiveMinReplicaCount, type ScaledJobReplicaSpec } from "./bounds.js";

/** One trigger's reading for this poll. For kafka: the lag evaluation's metric value, lagThreshold, activity. */
export type TriggerReading =
  | {
      /** The trigger's metric value (kafka: the capped total lag). */
      readonly queueLength: number;
      /** The average-value target (kafka: lagThreshold); 0 when the trigger has none. */
      readonly targetAverageValue: number;
      readonly active: boolean;
    }
  | {
      /** The trigger failed this poll: it is skipped, and the ScaledJob reports a trigger error. */
      readonly error: string;
    };

export interface ScalerMetrics {
  readonly queueLength: number;
  /** queueLength / target, at most the effective max; 0 when the target is 0. */
  readonly maxValue: number;
  readonly isActive: boolean;
}

export const MULTIPLE_SCALERS_CALCULATIONS = ["max", "min", "avg", "sum"] as const;
export type MultipleScalersCalculation = (typeof MULTIPLE_SCALERS_CALCULATIONS)[number];

/** The mean of a trigger's average-value targets; a target without a value counts as 0, no target gives 0. */
export function averageTargetValue(targets: readonly (number | undefined)[]): number {
  if (targets.length === 0) return 0;
  return targets.reduce<number>((sum, t) => sum + (t ?? 0), 0) / targets.length;
}

/** One trigger's queue length and job budget (KEDA's CalculateQueueLengthAndMaxValue). */
export function scalerMetrics(
  queueLength: number,
  targetAverageValue: number,
  active: boolean,
  effectiveMax: number,
): ScalerMetrics {
  const maxValue = targetAverageValue !== 0 ? Math.min(queueLength / targetAverageValue, effectiveMax) : 0;
  return { queueLength, maxValue, isActive: active };
}

export interface AggregatedMetrics {
  /** Some trigger is active, or minReplicaCount > 0. */
  readonly isActive: boolean;
  /** Some trigger failed. */
  readonly isError: boolean;
  /** ceil(combined queue length): KEDA's scaleTo. */
  readonly scaleTo: number;
  /** ceil(combined job budget, at most the effective max): KEDA's maxScale. */
  readonly maxScale: number;
  /** Indices of the triggers that were active. */
  readonly activeTriggers: readonly number[];
}

/**
 * Combines the triggers per `multipleScalersCalculation` (unset or unknown means `max`). Inactive and failed
 * triggers are ignored in every mode. KEDA's quirks are kept: `max` picks only a queue length strictly
 * greater than 0; `min` replaces a picked queue length of 0 by the next active one.
 */
export function aggregateScaledJobMetrics(
  readings: readonly TriggerReading[],
  multipleScalersCalculation: string | undefined,
  spec: ScaledJobReplicaSpec,
): AggregatedMetrics {
  const effectiveMax = effectiveMaxReplicaCount(spec);
  const metrics: ScalerMetrics[] = [];
  const activeTriggers: number[] = [];
  let isError = false;
  readings.forEach((r, i) => {
    if ("error" in r) {
      isError = true;
      return;
    }
    if (r.active) activeTriggers.push(i);
    metrics.push(scalerMetrics(r.queueLength, r.targetAverageValue, r.active, effectiveMax));
  });

  let queueLength = 0;
  let maxValue = 0;
  let isActive = false;
  const active = metrics.filter((m) => m.isActive);
  switch (multipleScalersCalculation) {
    case "min":
      for (const m of active) {
        if (queueLength === 0 || m.queueLength < queueLength) {
          ({ queueLength, maxValue } = m);
          isActive = true;
        }
      }
      break;
    case "avg":
      if (active.length > 0) {
        queueLength = active.reduce((s, m) => s + m.queueLength, 0) / active.length;
        maxValue = active.reduce((s, m) => s + m.maxValue, 0) / active.length;
        isActive = true;
      }
      break;
    case "sum":
      for (const m of active) {
        queueLength += m.queueLength;
        maxValue += m.maxValue;
        isActive = true;
      }
      break;
    default:
      for (const m of active) {
        if (m.queueLength > queueLength) {
          ({ queueLength, maxValue } = m);
          isActive = true;
        }
      }
  }
  if (effectiveMinReplicaCount(spec) > 0) isActive = true;
  maxValue = Math.min(maxValue, effectiveMax);
  return {
    isActive,
    isError,
    scaleTo: Math.ceil(queueLength),
    maxScale: Math.ceil(maxValue),
    activeTriggers,
  };
}
