/**
 * KEDA's fallback (§2.9): per-trigger health counted over consecutive failed evaluations, and the replica
 * count a trigger stands for once its failures exceed `fallback.failureThreshold`.
 *
 * D6: KEDA counts a failure for every read, from its polling loop and from every HPA metrics request, so the
 * threshold is reached faster than `failureThreshold × pollingInterval`. lagscale reads once per evaluation
 * and counts once per evaluation.
 */
import type { FallbackSpec } from "./spec.js";

export interface TriggerHealth {
  numberOfFailures: number;
  status: "Happy" | "Failing";
}

/** `status.health`: trigger (metric) name → health. */
export type HealthMap = Record<string, TriggerHealth>;

/** KEDA's CheckFallbackValid: both numbers at least 0. */
export function fallbackIsValid(fallback: FallbackSpec | undefined): fallback is FallbackSpec {
  return fallback !== undefined && fallback.failureThreshold >= 0 && fallback.replicas >= 0;
}

/**
 * One evaluation's health update: a successful read resets a trigger to {0, Happy}, a failed one adds one
 * failure. Triggers no longer in the spec are dropped.
 */
export function updateHealth(
  prev: HealthMap,
  triggers: readonly { name: string; failed: boolean }[],
): HealthMap {
  const next: HealthMap = {};
  for (const t of triggers) {
    if (t.failed) {
      next[t.name] = { numberOfFailures: (prev[t.name]?.numberOfFailures ?? 0) + 1, status: "Failing" };
    } else {
      next[t.name] = { numberOfFailures: 0, status: "Happy" };
    }
  }
  return next;
}

/** True once the failures exceed the threshold (strictly: the threshold+1-th consecutive failure). */
export function isBeyondThreshold(fallback: FallbackSpec, health: TriggerHealth | undefined): boolean {
  return (
    health !== undefined && health.status === "Failing" && health.numberOfFailures > fallback.failureThreshold
  );
}

/** The replica count a trigger in fallback stands for, by `fallback.behavior`. */
export function fallbackReplicas(fallback: FallbackSpec, currentReplicas: number): number {
  switch (fallback.behavior) {
    case "currentReplicas":
      return currentReplicas;
    case "currentReplicasIfHigher":
      return Math.max(currentReplicas, fallback.replicas);
    case "currentReplicasIfLower":
      return Math.min(currentReplicas, fallback.replicas);
    case "static":
      return fallback.replicas;
  }
}

/**
 * The synthetic metric value that makes the HPA ask for `replicas`: target × replicas, divided by the ready
 * pods for a Value target. Undefined when a Value target has no ready pods (KEDA: "error performing
 * fallback"; the trigger then stays in error).
 */
export function fallbackMetricValue(
  target: number,
  metricType: "AverageValue" | "Value",
  replicas: number,
  readyReplicas: number,
): number | undefined {
  if (metricType === "AverageValue") return target * replicas;
  if (readyReplicas <= 0) return undefined;
  return (target * replicas) / readyReplicas;
}
