/**
 * What the lag math needs from a kafka trigger. The field names and types are KEDA's parameter names, so
 * that the parsed trigger metadata (core/triggers) is assignable to this type as it is: the lag math does
 * not depend on how the trigger was parsed, only on these values.
 */
export type OffsetResetPolicy = "latest" | "earliest";

export interface LagOptions {
  /** Consumer group whose committed offsets are read. Used in messages. */
  readonly consumerGroup: string;
  /** The topic; absent or empty means "every topic the group has committed offsets for". */
  readonly topic?: string | undefined;
  /** Target lag per replica (T); must be > 0. */
  readonly lagThreshold: number;
  /** The trigger is active when the total lag (persistent lag included) is strictly greater than this. */
  readonly activationLagThreshold: number;
  readonly offsetResetPolicy: OffsetResetPolicy;
  readonly allowIdleConsumers: boolean;
  readonly excludePersistentLag: boolean;
  readonly scaleToZeroOnInvalidOffset: boolean;
  readonly limitToPartitionsWithLag: boolean;
  readonly ensureEvenDistributionOfPartitions: boolean;
  /** Partition ids to consider; absent means all. Ignored when no topic is given, as in KEDA. */
  readonly partitionLimitation?: readonly number[] | undefined;
}

/** The committed offset Kafka returns for a partition the group has never committed (OffsetFetch). */
export const INVALID_OFFSET = -1;

/** True when the trigger names no topic (absent, empty or whitespace), the "group's topics" mode. */
export function hasNoTopic(options: Pick<LagOptions, "topic">): boolean {
  return options.topic === undefined || options.topic.trim() === "";
}
