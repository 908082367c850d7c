/**
 * Which partitions a kafka trigger evaluates (KEDA's getTopicPartitions, with the D3 departure).
 *
 * - Topic given: that topic's partitions, kept to `partitionLimitation` when set.
 * - No topic: the topics the group has committed offsets for (an OffsetFetch with no topic filter), all
 *   their partitions; `partitionLimitation` is ignored, as KEDA ignores it without a topic.
 * - No topic and the group has committed nothing (D3): no partitions; the lag is 0, the trigger inactive,
 *   and the reason is given so that it can be surfaced as a condition or event.
 */
import { hasNoTopic, type LagOptions } from "./options.js";

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface PartitionDiscovery {
  /**
   * Topics the group has committed offsets for (the topics of an OffsetFetch with no topic filter).
   * Read only when the trigger names no topic.
   */
  readonly groupTopics?: readonly string[] | undefined;
  /** Partition ids of each topic asked for, from the cluster metadata. A topic missing here does not exist. */
  readonly topicPartitions: ReadonlyMap<string, readonly number[]>;
}

export type PartitionSelection =
  | {
      readonly kind: "partitions";
      /** Topics evaluated, sorted. */
      readonly topics: readonly string[];
      /** Partitions evaluated, sorted by topic then partition id. */
      readonly partitions: readonly TopicPartition[];
    }
  | { readonly kind: "no-committed-topics"; readonly reason: string }
  | { readonly kind: "error"; readonly error: string };

/** D3: the reason given when no topic is set and the group has no committed offsets at all. */
export function noCommittedTopicsReason(consumerGroup: string): string {
  return (
    `no topic is set and consumer group '${consumerGroup}' has no committed offsets, so it has no topics: ` +
    `lag is 0 and the trigger is inactive until the group commits an offset or a topic is set`
  );
}

/** The topics to describe in the cluster metadata for this trigger, given the group's committed topics. */
export function topicsToDescribe(
  options: Pick<LagOptions, "topic">,
  groupTopics: readonly string[] | undefined,
): readonly string[] {
  if (!hasNoTopic(options)) return [options.topic!.trim()];
  return [...new Set(groupTopics ?? [])].sort();
}

export function selectPartitions(
  options: Pick<LagOptions, "topic" | "consumerGroup" | "partitionLimitation">,
  discovery: PartitionDiscovery,
): PartitionSelection {
  const noTopic = hasNoTopic(options);
  if (noTopic && discovery.groupTopics === undefined) {
    return { kind: "error", error: "no topic is set and the group's committed topics were not read" };
  }
  const topics = topicsToDescribe(options, discovery.groupTopics);
  if (noTopic && topics.length === 0) {
    return { kind: "no-committed-topics", reason: noCommittedTopicsReason(options.consumerGroup) };
  }
  const limitation =
    noTopic || options.partitionLimitation === undefined ? undefined : new Set(options.partitionLimitation);
  const partitions: TopicPartition[] = [];
  for (const topic of topics) {
    const ids = discovery.topicPartitions.get(topic);
    if (ids === undefined) {
      return {
        kind: "error",
        error: `error describing topics: topic '${topic}' does not exist (unknown topic or partition)`,
      };
    }
    const kept = [...new Set(ids)]
      .filter((id) => limitation === undefined || limitation.has(id))
      .sort((a, b) => a - b);
    if (kept.length === 0) {
      return { kind: "error", error: `expected at least one active partition within the topic '${topic}'` };
    }
    for (const partition of kept) partitions.push({ topic, partition });
  }
  return { kind: "partitions", topics, partitions };
}
