/**
 * Lag of one partition (KEDA's getLagForPartition), with two
 * departures: D4 (`earliest` and nothing committed counts only the messages still in the log) and D7 (the
 * excludePersistentLag memory is passed in and out instead of living in a client object).
 *
 * Each partition yields two numbers: `lag`, which feeds the scaling metric, and `lagWithPersistent`, which
 * feeds activation. They differ only for a partition excluded as persistent lag.
 */
import { INVALID_OFFSET, type LagOptions } from "./options.js";

/** Offsets of one partition, as read from Kafka for one evaluation. */
export interface PartitionOffsets {
  readonly topic: string;
  readonly partition: number;
  /**
   * The group's committed offset (OffsetFetch): `-1` when the group has never committed on this partition;
   * `undefined` when the OffsetFetch response has no entry for the partition, which is an error.
   */
  readonly committed: number | undefined;
  /** A per-partition error code in the OffsetFetch response, which fails the evaluation as in KEDA. */
  readonly committedError?: string | undefined;
  /** Log-end offset (ListOffsets latest); `undefined` when the ListOffsets response left the partition out. */
  readonly latest?: number | undefined;
  /** Log-start offset (ListOffsets earliest); only needed for `earliest` with nothing committed (D4). */
  readonly logStart?: number | undefined;
}

/** Which row of the lag table gave a partition its lag. */
export type LagRule =
  /** Nothing committed, `latest`: 1 (so one consumer starts), or 0 with scaleToZeroOnInvalidOffset. */
  | "no-commit-latest"
  /** Nothing committed, `earliest`, scaleToZeroOnInvalidOffset: 0. */
  | "no-commit-earliest-zero"
  /** Nothing committed, `earliest`: log-end − log-start (D4), or log-end when log-start is unknown. */
  | "no-commit-earliest"
  /** The log-end offset is unknown: 0, no error (KEDA, for brokers that leave partitions out). */
  | "no-log-end"
  /** excludePersistentLag and the committed offset has not moved since the previous evaluation: lag 0. */
  | "persistent"
  /** log-end − committed. */
  | "committed";

export type PartitionLagResult =
  | {
      readonly ok: true;
      readonly lag: number;
      readonly lagWithPersistent: number;
      readonly rule: LagRule;
      /**
       * The committed offset to remember for the next evaluation (excludePersistentLag only); undefined when
       * the partition did not reach the persistent-lag rule, so the previous record, if any, stays.
       */
      readonly remember: number | undefined;
    }
  | { readonly ok: false; readonly error: string };

export type PartitionLagOptions = Pick<
  LagOptions,
  "consumerGroup" | "offsetResetPolicy" | "scaleToZeroOnInvalidOffset" | "excludePersistentLag"
>;

/**
 * @param previousCommitted the committed offset recorded for this partition at the previous evaluation
 *   (excludePersistentLag), or undefined when there is none.
 */
export function partitionLag(
  options: PartitionLagOptions,
  offsets: PartitionOffsets,
  previousCommitted: number | undefined,
): PartitionLagResult {
  const { topic, partition } = offsets;
  if (offsets.committed === undefined) {
    return {
      ok: false,
      error: `error finding offset block for topic ${topic} and partition ${partition}: no committed offset entry in the OffsetFetch response of group ${options.consumerGroup}`,
    };
  }
  if (offsets.committedError !== undefined) {
    return {
      ok: false,
      error: `error finding offset block for topic ${topic} and partition ${partition}: ${offsets.committedError}`,
    };
  }
  const c = offsets.committed;
  const latest = offsets.latest;
  const done = (
    lag: number,
    lagWithPersistent: number,
    rule: LagRule,
    remember?: number,
  ): PartitionLagResult => ({
    ok: true,
    lag,
    lagWithPersistent,
    rule,
    remember,
  });

  // Nothing committed: decided before the log-end offset is looked at, so that scaleToZeroOnInvalidOffset
  // holds even when the log-end offset is missing.
  if (c === INVALID_OFFSET) {
    if (options.offsetResetPolicy === "latest") {
      const v = options.scaleToZeroOnInvalidOffset ? 0 : 1;
      return done(v, v, "no-commit-latest");
    }
    if (options.scaleToZeroOnInvalidOffset) return done(0, 0, "no-commit-earliest-zero");
  }
  if (latest === undefined) return done(0, 0, "no-log-end");
  if (c === INVALID_OFFSET) {
    // D4: the consumer will start at the log start, so only the messages still in the log are lag.
    const v = offsets.logStart === undefined ? latest : latest - offsets.logStart;
    return done(v, v, "no-commit-earliest");
  }
  const lag = latest - c;
  if (options.excludePersistentLag) {
    if (previousCommitted === c) return done(0, lag, "persistent", c);
    return done(lag, lag, "committed", c);
  }
  return done(lag, lag, "committed");
}

/**
 * Whether the reader must fetch this partition's log-start offset: only for `earliest`, without
 * scaleToZeroOnInvalidOffset, on a partition with nothing committed (D4).
 */
export function needsLogStart(
  options: Pick<LagOptions, "offsetResetPolicy" | "scaleToZeroOnInvalidOffset">,
  committed: number | undefined,
): boolean {
  return (
    options.offsetResetPolicy === "earliest" &&
    !options.scaleToZeroOnInvalidOffset &&
    committed === INVALID_OFFSET
  );
}
