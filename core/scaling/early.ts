/**
 * Whether fresh lag seen between polls (a sidecar report, or log-end offsets that moved) calls for an
 * evaluation now rather than at the next pollingInterval. Only a scale-up or an activation justifies an
 * early evaluation: scale-in waits for the poll and the cooldown, as in KEDA.
 *
 * The answer is a hint, never a decision: the early evaluation reads Kafka again and decides with KEDA's
 * rules (decide.ts), so an estimate that is a little high costs one evaluation, not a wrong replica count.
 */

export interface EarlyEvaluationInput {
  /** The trigger's lag as now estimated (total over its partitions, after any partition cap). */
  lag: number;
  lagThreshold: number;
  activationLagThreshold: number;
  /** spec.replicas of the target now. */
  currentReplicas: number;
  maxReplicaCount: number;
  /** Partitions that can be consumed: replicas beyond it would idle (0 or absent: unknown, no cap). */
  partitions?: number;
  /** The HPA's scale-up tolerance (0.1 unless the behavior sets one). */
  tolerance?: number;
}

/** Why an early evaluation is due, or undefined when the next poll is soon enough. */
export type EarlyReason = "activation" | "scale-up";

export function earlyEvaluationReason(input: EarlyEvaluationInput): EarlyReason | undefined {
  const { lag, lagThreshold, activationLagThreshold, currentReplicas, maxReplicaCount } = input;
  if (!(lag >= 0) || !(lagThreshold > 0)) return undefined;
  if (currentReplicas <= 0) return lag > activationLagThreshold ? "activation" : undefined;
  if (currentReplicas >= maxReplicaCount) return undefined;
  let wanted = Math.ceil(lag / lagThreshold);
  if (input.partitions !== undefined && input.partitions > 0) wanted = Math.min(wanted, input.partitions);
  wanted = Math.min(wanted, maxReplicaCount);
  const tolerance = input.tolerance ?? 0.1;
  return wanted > currentReplicas && lag / (lagThreshold * currentReplicas) > 1 + tolerance
    ? "scale-up"
    : undefined;
}

/**
 * A trigger's lag now, estimated without reading the group: its lag at the last evaluation plus what the
 * log-end offsets of its partitions grew since then (consumption since then is not seen, so the estimate
 * errs high, which costs one evaluation at most). Partitions without an offset on either side add nothing.
 */
export function estimateLag(
  lagAtEvaluation: number,
  endOffsetsThen: ReadonlyMap<number, number>,
  endOffsetsNow: ReadonlyMap<number, number>,
): { lag: number; growth: number } {
  let growth = 0;
  for (const [partition, then] of endOffsetsThen) {
    const now = endOffsetsNow.get(partition);
    // A log-end offset that went back (a truncated or recreated topic) is no growth.
    if (now !== undefined && now > then) growth += now - then;
  }
  return { lag: Math.max(0, lagAtEvaluation) + growth, growth };
}
