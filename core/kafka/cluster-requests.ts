/**
 * The Kafka requests of one cluster's rounds, and what they cache: topic metadata (partition ids and
 * leaders, for `metadataMaxAgeMs`) and group coordinators (until an error). Metadata errors are isolated
 * per topic, OffsetFetch errors per group (one retry with a fresh coordinator), ListOffsets errors per topic
 * (one retry after fresh metadata). Every request goes through the cluster's concurrency limiter.
 */
import type { Logger } from "pino";
import {
  describeKafkaError,
  EARLIEST_TIMESTAMP,
  isKafkaConnectionError,
  kafkaErrorName,
  kafkaErrorType,
  type InternalCluster,
  type ListOffsetsTopic,
  type OffsetFetchTopic,
  type TopicMetadataEntry,
} from "./kafkajs-internals.js";
import type { Limiter } from "./limiter.js";
import { metaOf, type GroupOffsets, type Needed, type Outcome, type TopicMeta } from "./round-plan.js";
import type { OffsetsByTopic } from "./round-result.js";

export interface ClusterRequestsOptions {
  label: string;
  limiter: Limiter;
  /** ListOffsets isolation level (protocol value). */
  isolationLevel: number;
  metadataMaxAgeMs: number;
  log: Logger;
  /** Whether `cluster` is still the connection in use: only then is what it answered cached. */
  isCurrent(cluster: InternalCluster): boolean;
}

export class ClusterRequests {
  private readonly topics = new Map<string, TopicMeta>();
  private readonly coordinators = new Map<string, number>();

  constructor(private readonly o: ClusterRequestsOptions) {}

  get cachedTopics(): number {
    return this.topics.size;
  }

  /** Forgets everything learnt through a connection that is gone. */
  clear(): void {
    this.coordinators.clear();
    this.topics.clear();
  }

  /** Drops cached metadata of topics no trigger asked for within `idleMs`. */
  pruneTopics(idleMs: number): void {
    const now = Date.now();
    for (const [topic, meta] of this.topics) if (now - meta.fetchedAt > idleMs) this.topics.delete(topic);
  }

  // ---------------------------------------------------------------------------------------------------
  // Metadata

  /** Fills `into` for each topic: from the cache when fresh, else from one Metadata request for all of them. */
  async describeTopics(
    cluster: InternalCluster,
    topics: Set<string>,
    into: Map<string, Outcome<TopicMeta>>,
    now: number,
  ): Promise<void> {
    const missing: string[] = [];
    for (const topic of topics) {
      const cached = this.topics.get(topic);
      if (cached && now - cached.fetchedAt < this.o.metadataMaxAgeMs)
        into.set(topic, { ok: true, value: cached });
      else missing.push(topic);
    }
    if (missing.length === 0) return;
    for (const [topic, outcome] of await this.fetchMetadata(cluster, missing.sort()))
      into.set(topic, outcome);
  }

  /**
   * One Metadata request for all topics. kafkajs turns any topic's error into an error for the whole
   * response, so when it fails, each topic is asked alone to find which ones are at fault.
   */
  private async fetchMetadata(
    cluster: InternalCluster,
    topics: string[],
  ): Promise<Map<string, Outcome<TopicMeta>>> {
    const out = new Map<string, Outcome<TopicMeta>>();
    try {
      const entries = await this.metadataRequest(cluster, topics);
      for (const topic of topics) {
        const entry = entries.find((t) => t.topic === topic);
        out.set(topic, entry ? { ok: true, value: this.remember(cluster, entry) } : unknownTopic(topic));
      }
      return out;
    } catch (error) {
      if (isKafkaConnectionError(error) || kafkaErrorType(error) === undefined) throw error;
      if (topics.length === 1) {
        out.set(topics[0]!, topicError(topics[0]!, error));
        this.topics.delete(topics[0]!);
        return out;
      }
    }
    await Promise.all(
      topics.map(async (topic) => {
        for (const [t, outcome] of await this.fetchMetadata(cluster, [topic])) out.set(t, outcome);
      }),
    );
    return out;
  }

  private async metadataRequest(cluster: InternalCluster, topics: string[]): Promise<TopicMetadataEntry[]> {
    return this.o.limiter.run(async () => {
      const broker = await cluster.brokerPool.findConnectedBroker();
      const response = await broker.metadata(topics);
      const known = new Set(cluster.getNodeIds());
      const leaders = response.topicMetadata.flatMap((t) => t.partitionMetadata.map((p) => String(p.leader)));
      // A leader the cluster does not know yet (a broker joined): refresh the broker list.
      if (leaders.some((id) => !known.has(id))) await cluster.refreshMetadata();
      return response.topicMetadata;
    });
  }

  private remember(cluster: InternalCluster, entry: TopicMetadataEntry): TopicMeta {
    const meta: TopicMeta = {
      ids: entry.partitionMetadata.map((p) => p.partitionId).sort((a, b) => a - b),
      leaderOf: new Map(entry.partitionMetadata.map((p) => [p.partitionId, p.leader])),
      fetchedAt: Date.now(),
    };
    if (this.o.isCurrent(cluster)) this.topics.set(entry.topic, meta);
    return meta;
  }

  // ---------------------------------------------------------------------------------------------------
  // Committed offsets

  async fetchCommitted(
    cluster: InternalCluster,
    group: string,
    topics: OffsetFetchTopic[] | "all",
  ): Promise<Outcome<GroupOffsets>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.o.limiter.run(async () => {
          const coordinator = await this.coordinator(cluster, group);
          // An empty topic list asks for every topic the group has committed offsets for.
          return coordinator.offsetFetch({ groupId: group, topics: topics === "all" ? [] : topics });
        });
        const offsets: GroupOffsets = new Map();
        for (const t of response.responses) {
          const parts = new Map<number, number>();
          for (const p of t.partitions) {
            const value = Number(p.offset);
            // Without a filter, Kafka can list partitions whose commit was removed (offset -1): skip them.
            if (topics === "all" && value < 0) continue;
            parts.set(p.partition, value);
          }
          if (topics !== "all" || parts.size > 0) offsets.set(t.topic, parts);
        }
        return { ok: true, value: offsets };
      } catch (error) {
        this.coordinators.delete(group);
        const type = kafkaErrorType(error) ?? "";
        const retriable =
          isKafkaConnectionError(error) ||
          type === "NOT_COORDINATOR_FOR_GROUP" ||
          type === "GROUP_COORDINATOR_NOT_AVAILABLE" ||
          type === "GROUP_LOAD_IN_PROGRESS";
        if (attempt === 0 && retriable) continue;
        return {
          ok: false,
          kind: "group",
          error: `error listing committed offsets of consumer group '${group}': ${describeKafkaError(error)}`,
        };
      }
    }
  }

  private async coordinator(cluster: InternalCluster, group: string) {
    let nodeId = this.coordinators.get(group);
    if (nodeId === undefined) {
      const found = await cluster.findGroupCoordinatorMetadata({ groupId: group, coordinatorType: 0 });
      nodeId = found.coordinator.nodeId;
      if (this.o.isCurrent(cluster)) this.coordinators.set(group, nodeId);
    }
    return this.findBroker(cluster, nodeId);
  }

  private async findBroker(cluster: InternalCluster, nodeId: number) {
    try {
      return await cluster.findBroker({ nodeId: String(nodeId) });
    } catch (error) {
      // kafkajs refreshed its broker list before throwing; one more try sees a broker that just joined.
      if (kafkaErrorName(error) === "KafkaJSBrokerNotFound")
        return cluster.findBroker({ nodeId: String(nodeId) });
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // End and start offsets

  /**
   * One ListOffsets per leader broker for all the partitions it leads. A request that fails is retried once
   * after a metadata refresh, split per topic so that one bad partition does not fail the others.
   * Errors are per topic: a topic some of whose partitions could not be read is an error as a whole.
   */
  async listOffsets(
    cluster: InternalCluster,
    wanted: Needed,
    topicState: Map<string, Outcome<TopicMeta>>,
    timestamp: number,
  ): Promise<OffsetsByTopic> {
    const offsets = new Map<string, Map<number, number>>();
    const errors = new Map<string, string>();
    const what = timestamp === EARLIEST_TIMESTAMP ? "log-start" : "end";
    /** leader → topic → partition ids */
    const byLeader = (topics: Iterable<string>, metaFor: (topic: string) => TopicMeta | undefined) => {
      const out = new Map<number, Map<string, number[]>>();
      for (const topic of topics) {
        const meta = metaFor(topic);
        if (!meta) continue;
        for (const id of wanted.ids(topic, topicState)) {
          const leader = meta.leaderOf.get(id);
          if (leader === undefined) continue; // the partition is gone: its end offset stays unknown
          let perTopic = out.get(leader);
          if (!perTopic) out.set(leader, (perTopic = new Map()));
          let ids = perTopic.get(topic);
          if (!ids) perTopic.set(topic, (ids = []));
          ids.push(id);
        }
      }
      return out;
    };
    const send = async (leader: number, topics: Map<string, number[]>): Promise<void> => {
      const request: ListOffsetsTopic[] = [...topics].map(([topic, ids]) => ({
        topic,
        partitions: ids.map((partition) => ({ partition, timestamp })),
      }));
      const response = await this.o.limiter.run(async () => {
        const broker = await this.findBroker(cluster, leader);
        return broker.listOffsets({ isolationLevel: this.o.isolationLevel, topics: request });
      });
      for (const t of response.responses) {
        let m = offsets.get(t.topic);
        if (!m) offsets.set(t.topic, (m = new Map()));
        for (const p of t.partitions) m.set(p.partition, Number(p.offset));
      }
    };
    const failed = new Set<string>();
    await Promise.all(
      [...byLeader(wanted.topics(), (topic) => metaOf(topicState, topic))].map(async ([leader, topics]) => {
        try {
          await send(leader, topics);
        } catch (error) {
          this.o.log.debug(
            { cluster: this.o.label, leader, err: error },
            "ListOffsets failed, retrying per topic",
          );
          for (const topic of topics.keys()) failed.add(topic);
        }
      }),
    );
    if (failed.size === 0) return { offsets, errors };

    // Retry: fresh metadata for the topics concerned, then one request per (leader, topic).
    const topics = [...failed].sort();
    for (const t of topics) {
      this.topics.delete(t);
      offsets.delete(t);
    }
    const fresh = await this.fetchMetadata(cluster, topics);
    for (const [topic, meta] of fresh) if (!meta.ok) errors.set(topic, meta.error);
    const retry = byLeader(topics, (topic) => {
      const m = fresh.get(topic);
      return m?.ok ? m.value : undefined;
    });
    await Promise.all(
      [...retry].flatMap(([leader, perTopic]) =>
        [...perTopic].map(async ([topic, ids]) => {
          try {
            await send(leader, new Map([[topic, ids]]));
          } catch (error) {
            errors.set(
              topic,
              `error listing ${what} offsets of topic '${topic}': ${describeKafkaError(error)}`,
            );
          }
        }),
      ),
    );
    return { offsets, errors };
  }
}

function unknownTopic(topic: string): Outcome<TopicMeta> {
  return { ok: false, kind: "topic", error: `topic '${topic}' does not exist (unknown topic or partition)` };
}

function topicError(topic: string, error: unknown): Outcome<TopicMeta> {
  if (kafkaErrorType(error) === "UNKNOWN_TOPIC_OR_PARTITION") return unknownTopic(topic);
  return {
    ok: false,
    kind: "topic",
    error: `error describing topic '${topic}': ${describeKafkaError(error)}`,
  };
}
