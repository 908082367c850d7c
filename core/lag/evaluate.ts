/**
 * One evaluation of a kafka trigger: the partitions' offsets in, the metric value and the activity out
 * (KEDA's GetMetricsAndActivity and getTotalLag), with the departures D1 to D4 and D7.
 *
 * The excludePersistentLag memory (D7) is an explicit value: pass the `memory` returned by the previous
 * evaluation of the same trigger, and keep the returned one for the next. It survives client reconnects
 * because it is not kept in a client. Evaluate a trigger once per round: a second evaluation of the same
 * offsets would see every committed offset as unchanged.
 */
import { hasNoTopic, type LagOptions } from "./options.js";
import { noCommittedTopicsReason } from "./partitions.js";
import { partitionLag, type LagRule, type PartitionOffsets } from "./partition-lag.js";
import { capTotalLag } from "./total-lag.js";

/** excludePersistentLag memory: `partitionKey(topic, partition)` → committed offset seen at the last evaluation. */
export type PersistentLagMemory = ReadonlyMap<string, number>;

/** Key of a partition in a PersistentLagMemory. Kafka topic names cannot contain `/`. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export const EMPTY_LAG_MEMORY: PersistentLagMemory = new Map();

export interface LagInput {
  /**
   * The partitions selected for the trigger (see selectPartitions), with their offsets. Empty when no topic
   * is set and the group has no committed topics (D3).
   */
  readonly partitions: readonly PartitionOffsets[];
}

export interface PartitionLagEntry {
  readonly topic: string;
  readonly partition: number;
  readonly committed: number | undefined;
  readonly latest: number | undefined;
  readonly logStart: number | undefined;
  /** Lag that feeds the metric. */
  readonly lag: number;
  /** Lag that feeds activation (differs from `lag` only for a persistent-lag partition). */
  readonly lagWithPersistent: number;
  readonly rule: LagRule;
  /**
   * False for a partition whose log-end offset is unknown: as in KEDA, it is not iterated, so it adds no lag
   * and does not count as a partition for the cap.
   */
  readonly counted: boolean;
}

export type LagEvaluation = LagEvaluationOk | LagEvaluationError;

export interface LagEvaluationOk {
  readonly ok: true;
  /** The value for the AverageValue (or Value) target of lagThreshold: ≥ 0, rounded and capped. */
  readonly metricValue: number;
  /** Σ lagWithPersistent > activationLagThreshold, strictly. */
  readonly active: boolean;
  /** Σ lag over the counted partitions, before rounding, capping and clamping (may be negative). */
  readonly totalLag: number;
  /** Σ lagWithPersistent over the counted partitions. */
  readonly totalLagWithPersistent: number;
  /** Counted partitions whose lag is > 0. */
  readonly partitionsWithLag: number;
  /** Counted partitions. */
  readonly partitionCount: number;
  /** The most replicas the metric can ask for, or undefined when nothing bounds it (allowIdleConsumers). */
  readonly replicaBound: number | undefined;
  readonly perPartition: readonly PartitionLagEntry[];
  /** Memory for the next evaluation of this trigger. */
  readonly memory: PersistentLagMemory;
  /** What shaped the result, one sentence each, for logs and status. */
  readonly notes: readonly string[];
  /** Set when the trigger is inactive for a reason to surface as a condition or event (D3). */
  readonly inactiveReason: string | undefined;
}

export interface LagEvaluationError {
  readonly ok: false;
  readonly error: string;
  /** The memory passed in, unchanged: an error does not reset excludePersistentLag (D7). */
  readonly memory: PersistentLagMemory;
}

function validate(options: LagOptions, input: LagInput): string | undefined {
  if (!Number.isFinite(options.lagThreshold) || options.lagThreshold <= 0) {
    return `lagThreshold must be a positive number, got ${options.lagThreshold}`;
  }
  if (!Number.isFinite(options.activationLagThreshold) || options.activationLagThreshold < 0) {
    return `activationLagThreshold must be a non-negative number, got ${options.activationLagThreshold}`;
  }
  const seen = new Set<string>();
  for (const p of input.partitions) {
    const key = partitionKey(p.topic, p.partition);
    if (seen.has(key)) return `partition ${key} is given twice`;
    seen.add(key);
    // three checks, not a loop over fresh arrays: this runs for every partition of every evaluation
    const invalid =
      notAnOffset("committed", p.committed, key) ??
      notAnOffset("latest", p.latest, key) ??
      notAnOffset("logStart", p.logStart, key);
    if (invalid !== undefined) return invalid;
  }
  return undefined;
}

function notAnOffset(name: string, v: number | undefined, key: string): string | undefined {
  return v !== undefined && !Number.isSafeInteger(v)
    ? `${name} offset of partition ${key} is not an integer: ${v}`
    : undefined;
}

/** One partition's entry, built field by field (an object spread per partition was a measurable cost). */
function entry(
  p: PartitionOffsets,
  lag: number,
  lagWithPersistent: number,
  rule: LagRule,
  counted: boolean,
): PartitionLagEntry {
  return {
    topic: p.topic,
    partition: p.partition,
    committed: p.committed,
    latest: p.latest,
    logStart: p.logStart,
    lag,
    lagWithPersistent,
    rule,
    counted,
  };
}

export function evaluateKafkaLag(
  options: LagOptions,
  input: LagInput,
  memory: PersistentLagMemory = EMPTY_LAG_MEMORY,
): LagEvaluation {
  const invalid = validate(options, input);
  if (invalid !== undefined) return { ok: false, error: invalid, memory };

  const notes: string[] = [];
  const perPartition: PartitionLagEntry[] = [];
  const nextMemory = new Map<string, number>();
  const notCounted: string[] = [];
  let totalLag = 0;
  let totalLagWithPersistent = 0;
  let partitionsWithLag = 0;
  let partitionCount = 0;

  for (const p of input.partitions) {
    const key = partitionKey(p.topic, p.partition);
    const previous = memory.get(key);
    if (p.latest === undefined) {
      // KEDA sums over the partitions of the ListOffsets response: one left out is not evaluated at all.
      perPartition.push(entry(p, 0, 0, "no-log-end", false));
      notCounted.push(key);
      if (options.excludePersistentLag && previous !== undefined) nextMemory.set(key, previous);
      continue;
    }
    const r = partitionLag(options, p, previous);
    if (!r.ok) return { ok: false, error: r.error, memory };
    perPartition.push(entry(p, r.lag, r.lagWithPersistent, r.rule, true));
    partitionCount++;
    totalLag += r.lag;
    totalLagWithPersistent += r.lagWithPersistent;
    if (r.lag > 0) partitionsWithLag++;
    if (options.excludePersistentLag) {
      const remembered = r.remember ?? previous;
      if (remembered !== undefined) nextMemory.set(key, remembered);
    }
    if (r.rule === "persistent" && r.lagWithPersistent !== 0) {
      notes.push(
        `partition ${key}: committed offset ${p.committed} unchanged since the previous evaluation, ` +
          `its lag ${r.lagWithPersistent} is left out of the metric (excludePersistentLag) but still counts for activation`,
      );
    }
  }

  let inactiveReason: string | undefined;
  if (input.partitions.length === 0 && hasNoTopic(options)) {
    inactiveReason = noCommittedTopicsReason(options.consumerGroup);
    notes.push(inactiveReason);
  }
  if (notCounted.length > 0) {
    notes.push(
      `no log-end offset for ${notCounted.join(", ")}: not counted (0 lag, and not a partition for the cap)`,
    );
  }

  const capped = capTotalLag(totalLag, partitionCount, partitionsWithLag, options);
  if (capped.evenFactor !== undefined) {
    notes.push(
      `ensureEvenDistributionOfPartitions: lag ${totalLag} rounded up to ${capped.evenFactor} × ${options.lagThreshold}, ` +
        `${capped.evenFactor} dividing ${partitionCount} partitions`,
    );
  }
  if (capped.capped) {
    const what = options.limitToPartitionsWithLag ? "partitions with lag" : "partitions";
    notes.push(
      `metric capped at ${capped.replicaBound} ${what} × lagThreshold ${options.lagThreshold} = ${capped.metricValue}`,
    );
  }
  if (totalLag < 0) {
    notes.push(`total lag ${totalLag} is negative (committed offsets past the log end); the metric is 0`);
  }

  return {
    ok: true,
    metricValue: capped.metricValue,
    active: totalLagWithPersistent > options.activationLagThreshold,
    totalLag,
    totalLagWithPersistent,
    partitionsWithLag,
    partitionCount,
    replicaBound: capped.replicaBound,
    perPartition,
    memory: nextMemory,
    notes,
    inactiveReason,
  };
}
