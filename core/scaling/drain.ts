/**
 * The drain-time target (lagscale's own, opt-in through spec.advanced.lagscale.drainTimeSeconds): enough
 * replicas that the backlog drains within that time at the per-pod rate the sidecars measured.
 *
 * It only ever raises KEDA's recommendation: the evaluation hands it to the HPA step as one more metric, and
 * the HPA takes the largest of its metrics, so lagThreshold keeps its meaning as the floor. Without a
 * measured rate (no fresh report, or no pod that consumed anything) there is no drain target at all.
 */

export interface DrainInput {
  /** Lag more pods would help with: the trigger's lag minus stalled lag. */
  backlog: number;
  /** Mean committed-offset rate of one consuming pod, messages per second. */
  perPodRate: number | undefined;
  drainTimeSeconds: number;
  /** Partitions that can be consumed (replicas beyond it idle); 0 or absent: no cap. */
  partitions?: number;
  maxReplicaCount: number;
}

/** Replicas for the drain target, or undefined when there is nothing to size on. */
export function drainReplicas(input: DrainInput): number | undefined {
  const { backlog, perPodRate, drainTimeSeconds, maxReplicaCount } = input;
  if (perPodRate === undefined || !(perPodRate > 0) || !Number.isFinite(perPodRate)) return undefined;
  if (!(drainTimeSeconds > 0) || !(backlog > 0)) return undefined;
  let n = Math.ceil(backlog / (perPodRate * drainTimeSeconds));
  if (input.partitions !== undefined && input.partitions > 0) n = Math.min(n, input.partitions);
  return Math.max(1, Math.min(n, maxReplicaCount));
}
