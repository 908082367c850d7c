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
import {
  FIND_COORDINATOR_API_KEY,
  FIND_COORDINATOR_BATCHED_VERSION,
  findCoordinatorV4Request,
} from "./find-coordinator-v4.js";
import { brokerMaxVersion, kafkaError, sendThroughBroker } from "./kafkajs-protocol.js";
import type { Limiter } from "./limiter.js";
import {
  OFFSET_FETCH_API_KEY,
  OFFSET_FETCH_MULTI_GROUP_VERSION,
  offsetFetchV8Request,
  type OffsetFetchGroupResponse,
} from "./offset-fetch-v8.js";
import { metaOf, type GroupOffsets, type Needed, type Outcome, type TopicMeta } from "./round-plan.js";
import type { OffsetsByTopic } from "./round-result.js";

export interface ClusterRequestsOptions {
  label: string;
  limiter: Limiter;
  /** ListOffsets isolation level (protocol value). */
  isolationLevel: number;
  metadataMaxAgeMs: number;
  /** Multi-group OffsetFetch and batched FindCoordinator where the brokers support them (Kafka ≥ 3.0). */
  multiGroupRequests: boolean;
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
        return { ok: true, value: groupOffsets(response.responses, topics === "all") };
      } catch (error) {
        this.coordinators.delete(group);
        if (attempt === 0 && isCoordinatorRetriable(error)) continue;
        return groupError(group, error);
      }
    }
  }

  /**
   * Committed offsets of many groups. With `multiGroupRequests` and brokers that support them: coordinators
   * not cached are looked up with one FindCoordinator v4, then each coordinator gets one OffsetFetch v8
   * carrying all its groups. A group the batched path cannot answer (its broker is older, its coordinator
   * moved, the request failed) is asked alone, as `fetchCommitted` does, with its retry.
   */
  async fetchCommittedMany(
    cluster: InternalCluster,
    asks: Map<string, OffsetFetchTopic[] | "all">,
  ): Promise<Map<string, Outcome<GroupOffsets>>> {
    const out = new Map<string, Outcome<GroupOffsets>>();
    const alone = new Set<string>();
    if (this.o.multiGroupRequests && asks.size > 1) {
      await this.lookupCoordinators(cluster, [...asks.keys()]);
      const byCoordinator = new Map<number, string[]>();
      for (const group of asks.keys()) {
        const nodeId = this.coordinators.get(group);
        if (nodeId === undefined) alone.add(group);
        else {
          const groups = byCoordinator.get(nodeId);
          if (groups) groups.push(group);
          else byCoordinator.set(nodeId, [group]);
        }
      }
      await Promise.all(
        [...byCoordinator].map(async ([nodeId, groups]) => {
          if (groups.length === 1) {
            alone.add(groups[0]!);
            return;
          }
          const answered = await this.offsetFetchGroups(cluster, nodeId, groups, asks);
          for (const group of groups) {
            const outcome = answered?.get(group);
            if (outcome) out.set(group, outcome);
            else alone.add(group);
          }
        }),
      );
    } else for (const group of asks.keys()) alone.add(group);
    await Promise.all(
      [...alone].map(async (group) =>
        out.set(group, await this.fetchCommitted(cluster, group, asks.get(group)!)),
      ),
    );
    return out;
  }

  /** One FindCoordinator v4 for the groups whose coordinator is not cached, where a broker supports it. */
  private async lookupCoordinators(cluster: InternalCluster, groups: string[]): Promise<void> {
    const unknown = groups.filter((g) => !this.coordinators.has(g));
    if (unknown.length < 2) return;
    try {
      const response = await this.o.limiter.run(async () => {
        const broker = await cluster.brokerPool.findConnectedBroker();
        const max = brokerMaxVersion(broker, FIND_COORDINATOR_API_KEY);
        if (max === undefined || max < FIND_COORDINATOR_BATCHED_VERSION) return undefined;
        return sendThroughBroker(broker, findCoordinatorV4Request(unknown));
      });
      if (!response || !this.o.isCurrent(cluster)) return;
      for (const c of response.coordinators) if (c.errorCode === 0) this.coordinators.set(c.key, c.nodeId);
    } catch (error) {
      // The groups left without a coordinator are looked up one by one by fetchCommitted.
      this.o.log.debug({ cluster: this.o.label, err: error }, "batched FindCoordinator failed");
    }
  }

  /**
   * One OffsetFetch v8 to `nodeId` for `groups`; undefined when that broker does not support it or the
   * request failed. Groups missing from the answer or answered with a coordinator error are left out (the
   * caller asks them alone, after a fresh coordinator lookup).
   */
  private async offsetFetchGroups(
    cluster: InternalCluster,
    nodeId: number,
    groups: string[],
    asks: Map<string, OffsetFetchTopic[] | "all">,
  ): Promise<Map<string, Outcome<GroupOffsets>> | undefined> {
    const request = groups.map((groupId) => {
      const ask = asks.get(groupId)!;
      const topics =
        ask === "all"
          ? null
          : ask.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => p.partition) }));
      return { groupId, topics };
    });
    let response;
    try {
      response = await this.o.limiter.run(async () => {
        const broker = await this.findBroker(cluster, nodeId);
        const max = brokerMaxVersion(broker, OFFSET_FETCH_API_KEY);
        if (max === undefined || max < OFFSET_FETCH_MULTI_GROUP_VERSION) return undefined;
        return sendThroughBroker(broker, offsetFetchV8Request(request));
      });
    } catch (error) {
      this.o.log.debug(
        { cluster: this.o.label, coordinator: nodeId, err: error },
        "batched OffsetFetch failed",
      );
      for (const group of groups) this.coordinators.delete(group);
      return undefined;
    }
    if (!response) return undefined;
    const out = new Map<string, Outcome<GroupOffsets>>();
    for (const answer of response.groups) {
      const ask = asks.get(answer.groupId);
      if (ask === undefined) continue;
      const code = firstErrorCode(answer);
      if (code === 0)
        out.set(answer.groupId, { ok: true, value: groupOffsets(answer.topics, ask === "all") });
      else if (isCoordinatorRetriable(kafkaError(code))) this.coordinators.delete(answer.groupId);
      else out.set(answer.groupId, groupError(answer.groupId, kafkaError(code)));
    }
    return out;
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

/**
 * topic → partition → committed offset. Without a filter, Kafka can list partitions whose commit was
 * removed (offset -1): those are skipped.
 */
function groupOffsets(
  topics: readonly { topic: string; partitions: readonly { partition: number; offset: string }[] }[],
  all: boolean,
): GroupOffsets {
  const offsets: GroupOffsets = new Map();
  for (const t of topics) {
    const parts = new Map<number, number>();
    for (const p of t.partitions) {
      const value = Number(p.offset);
      if (all && value < 0) continue;
      parts.set(p.partition, value);
    }
    if (!all || parts.size > 0) offsets.set(t.topic, parts);
  }
  return offsets;
}

/** The group's error code, else its first partition's: kafkajs's one-group OffsetFetch fails the group on either. */
function firstErrorCode(answer: OffsetFetchGroupResponse): number {
  if (answer.errorCode !== 0) return answer.errorCode;
  for (const t of answer.topics) for (const p of t.partitions) if (p.errorCode !== 0) return p.errorCode;
  return 0;
}

/** The coordinator moved, is loading or cannot be reached: worth one more try after a fresh lookup. */
function isCoordinatorRetriable(error: unknown): boolean {
  const type = kafkaErrorType(error) ?? "";
  return (
    isKafkaConnectionError(error) ||
    type === "NOT_COORDINATOR_FOR_GROUP" ||
    type === "GROUP_COORDINATOR_NOT_AVAILABLE" ||
    type === "GROUP_LOAD_IN_PROGRESS"
  );
}

function groupError(group: string, error: unknown): Outcome<GroupOffsets> {
  return {
    ok: false,
    kind: "group",
    error: `error listing committed offsets of consumer group '${group}': ${describeKafkaError(error)}`,
  };
}
