/**
 * KEDA's four ScaledJob scaling strategies (NewScalingStrategy and GetEffectiveMaxScale in
 * pkg/scaling/executor/scale_jobs.go).
 */

export interface ScalingStrategySpec {
  /** `default`, `custom`, `accurate` or `eager`; anything else is `default`. */
  readonly strategy?: string | undefined;
  readonly customScalingQueueLengthDeduction?: number | undefined;
  /** A decimal string, e.g. "0.5". When it does not parse, `custom` falls back to `default`, as in KEDA. */
  readonly customScalingRunningJobPercentage?: string | undefined;
}

export type ScalingStrategy =
  | { readonly kind: "default" }
  | { readonly kind: "custom"; readonly queueLengthDeduction: number; readonly runningJobPercentage: number }
  | { readonly kind: "accurate" }
  | { readonly kind: "eager" };

/**
 * A float as Go's strconv.ParseFloat reads it in decimal notation: no surrounding blanks, optional sign,
 * digits with an optional fraction, an optional exponent. Non-finite values (Go accepts "Inf" and "NaN") are
 * refused so that the job count stays a number; hexadecimal floats are refused too.
 */
export function parseRunningJobPercentage(text: string | undefined): number | undefined {
  if (text === undefined || !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

export function resolveScalingStrategy(spec: ScalingStrategySpec | undefined): ScalingStrategy {
  switch (spec?.strategy) {
    case "custom": {
      const runningJobPercentage = parseRunningJobPercentage(spec.customScalingRunningJobPercentage);
      if (runningJobPercentage === undefined) return { kind: "default" };
      return {
        kind: "custom",
        queueLengthDeduction: spec.customScalingQueueLengthDeduction ?? 0,
        runningJobPercentage,
      };
    }
    case "accurate":
      return { kind: "accurate" };
    case "eager":
      return { kind: "eager" };
    default:
      return { kind: "default" };
  }
}

export interface EffectiveMaxScale {
  /** Jobs that may be created this poll, before the "negative is 0" rule. */
  readonly effectiveMaxScale: number;
  /** The queue length to create jobs for (eager replaces it by the effective max replica count). */
  readonly scaleTo: number;
}

/**
 * @param maxScale the combined job budget of the triggers (KEDA's maxScale)
 * @param runningJobCount running jobs above the min (running − effective min)
 * @param pendingJobCount pending jobs
 * @param maxReplicaCount the effective max replica count (D9: max − min)
 * @param scaleTo the combined queue length (ceil)
 */
export function effectiveMaxScale(
  strategy: ScalingStrategy,
  maxScale: number,
  runningJobCount: number,
  pendingJobCount: number,
  maxReplicaCount: number,
  scaleTo: number,
): EffectiveMaxScale {
  switch (strategy.kind) {
    case "default":
      return { effectiveMaxScale: maxScale - runningJobCount, scaleTo };
    case "custom": {
      // Go truncates the float product toward zero when converting it to int64.
      const running = Math.trunc(runningJobCount * strategy.runningJobPercentage);
      const result = maxScale - strategy.queueLengthDeduction - running;
      return { effectiveMaxScale: Math.min(result, maxReplicaCount), scaleTo };
    }
    case "accurate":
      if (maxScale + runningJobCount - pendingJobCount > maxReplicaCount) {
        return { effectiveMaxScale: maxReplicaCount - runningJobCount, scaleTo };
      }
      return { effectiveMaxScale: maxScale - pendingJobCount, scaleTo };
    case "eager":
      return {
        effectiveMaxScale: Math.min(maxReplicaCount - runningJobCount - pendingJobCount, maxScale),
        scaleTo: maxReplicaCount,
      };
  }
}
