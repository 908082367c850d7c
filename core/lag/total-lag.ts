/**
 * From the summed lag to the metric value (KEDA's getTotalLag), with two departures:
 *
 * - D1: the partition cap fires when `ceil(S/T) > upper` (KEDA: `floor(S/T) > upper`), so the replicas asked
 *   for never exceed the partitions that can be consumed and more lag never gives a smaller metric.
 * - D2: with ensureEvenDistributionOfPartitions and no lag, the metric is 0 (KEDA: one replica's worth, T).
 */
import type { LagOptions } from "./options.js";

/** All positive divisors of n, ascending; empty for n < 1. (KEDA's FindFactors.) */
export function findFactors(n: number): number[] {
  if (!Number.isInteger(n) || n < 1) return [];
  const low: number[] = [];
  const high: number[] = [];
  for (let i = 1; i * i <= n; i++) {
    if (n % i !== 0) continue;
    low.push(i);
    if (i !== n / i) high.push(n / i);
  }
  return [...low, ...high.reverse()];
}

/**
 * The smallest divisor f of `partitionCount` with f × T ≥ totalLag, or `partitionCount` when none is.
 * (KEDA's getNextFactorThatBalancesConsumersToTopicPartitions.)
 */
export function nextBalancedFactor(totalLag: number, partitionCount: number, lagThreshold: number): number {
  for (const f of findFactors(partitionCount)) {
    if (f * lagThreshold >= totalLag) return f;
  }
  return partitionCount;
}

export type CapOptions = Pick<
  LagOptions,
  "lagThreshold" | "allowIdleConsumers" | "limitToPartitionsWithLag" | "ensureEvenDistributionOfPartitions"
>;

export interface CappedLag {
  /** The metric value: ≥ 0, after the even-distribution rounding and the partition cap. */
  readonly metricValue: number;
  /**
   * The most replicas the metric may ask for (partitions, or partitions with lag), or undefined when no
   * bound applies (allowIdleConsumers alone).
   */
  readonly replicaBound: number | undefined;
  /** True when the partition cap lowered the metric. */
  readonly capped: boolean;
  /** The divisor chosen by ensureEvenDistributionOfPartitions, when it applied. */
  readonly evenFactor: number | undefined;
}

/**
 * @param totalLag S, the sum of the partitions' lag (may be negative after a topic is recreated)
 * @param partitionCount N, the partitions evaluated
 * @param partitionsWithLag W, the partitions whose lag is > 0
 */
export function capTotalLag(
  totalLag: number,
  partitionCount: number,
  partitionsWithLag: number,
  options: CapOptions,
): CappedLag {
  const t = options.lagThreshold;
  let s = totalLag;
  let replicaBound: number | undefined;
  let capped = false;
  let evenFactor: number | undefined;
  if (
    !options.allowIdleConsumers ||
    options.limitToPartitionsWithLag ||
    options.ensureEvenDistributionOfPartitions
  ) {
    replicaBound = partitionCount;
    if (options.ensureEvenDistributionOfPartitions && s > 0) {
      // D2: no lag stays 0; any lag is rounded up to a replica count that divides the partitions.
      evenFactor = nextBalancedFactor(s, partitionCount, t);
      s = evenFactor * t;
    }
    if (options.limitToPartitionsWithLag) replicaBound = partitionsWithLag;
    // D1: ceil(s / t) > bound  ⇔  s > bound × t, for an integer bound.
    if (s > replicaBound * t) {
      s = replicaBound * t;
      capped = true;
    }
  }
  const metricValue = Number.isFinite(s) && s > 0 ? s : 0;
  return { metricValue, replicaBound, capped, evenFactor };
}

/**
 * The replicas an AverageValue target of `lagThreshold` asks for with this metric value: ceil(metric / T),
 * 0 for a metric that is 0, negative or not a number. Tolerance and stabilization are the decision's.
 */
export function desiredReplicasForLag(metricValue: number, lagThreshold: number): number {
  if (!(lagThreshold > 0) || !Number.isFinite(lagThreshold)) {
    throw new RangeError(`lagThreshold must be a positive number, got ${lagThreshold}`);
  }
  if (!(metricValue > 0)) return 0;
  return Math.ceil(metricValue / lagThreshold);
}
