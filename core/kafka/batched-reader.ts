/**
 * The batched lag reader: one admin connection per Kafka cluster identity, shared by every trigger on that
 * cluster, and one round of requests per evaluation for all of them. The design, the request counts and what
 * is cached are in docs/lag-reader.md.
 *
 * A round, per cluster:
 *   1. connect (once per connection: ApiVersions, SASL, a Metadata request for the broker list);
 *   2. at once: Metadata for named topics not cached (one request), and an OffsetFetch with no topic filter
 *      for each group that has a trigger without a topic;
 *   3. Metadata for the topics those groups turned out to have, when not cached (one request);
 *   4. at once: one OffsetFetch per remaining group (all its topics and partitions), and one ListOffsets
 *      (latest, read-uncommitted) per partition leader covering every partition of the round;
 *   5. one ListOffsets (earliest) per leader for the partitions that need a log-start offset, if any.
 * Callers arriving while a round is in flight wait for the next one; callers in the same tick share one.
 */
import type { Logger } from "pino";
import { createLogger } from "../log.js";
import { connectInternalCluster, connectionKey, connectionLabel, connectionProblems } from "./connection.js";
import {
  describeKafkaError,
  EARLIEST_TIMESTAMP,
  isKafkaConnectionError,
  kafkaErrorName,
  kafkaErrorType,
  LATEST_TIMESTAMP,
  READ_COMMITTED,
  READ_UNCOMMITTED,
  type InternalCluster,
  type InternalClusterOptions,
  type ListOffsetsTopic,
  type OffsetFetchTopic,
  type TopicMetadataEntry,
} from "./kafkajs-internals.js";
import { Limiter } from "./limiter.js";
import {
  addCounts,
  sumCounts,
  type ClusterStats,
  type KafkaConnection,
  type LagReader,
  type LagReadErrorKind,
  type LagReadResult,
  type LagRequest,
  type PartitionOffsets,
  type ReaderStats,
  type RequestCounts,
} from "./types.js";

export interface BatchedLagReaderOptions {
  /** kafkajs client id. Default `lagscale`. */
  clientId?: string;
  /** TCP connect and SASL handshake timeout. Default 3000 ms. */
  connectionTimeoutMs?: number;
  /** Timeout of one Kafka request. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** A round that has not finished by then fails with a cluster error, and the connection is rebuilt. Default 10000 ms. */
  roundTimeoutMs?: number;
  /** kafkajs retries of connection attempts and coordinator lookups within a round. Default 2. */
  retries?: number;
  /** Kafka requests in flight at once per cluster. Default 16. */
  concurrency?: number;
  /** Topic metadata (partitions, leaders) is asked again after this long, or at once after an error. Default 60000 ms. */
  metadataMaxAgeMs?: number;
  /** A cluster connection no trigger has used for this long is closed. Default 300000 ms. */
  idleCloseMs?: number;
  /** KEDA (sarama) reads high watermarks uncommitted; `read_committed` gives the last stable offset. */
  isolationLevel?: "read_uncommitted" | "read_committed";
  logger?: Logger;
  /** Called for every Kafka request sent (one response or one timeout each). */
  onRequest?: (clusterLabel: string, apiName: string) => void;
  /** Called at the end of every round. */
  onRound?: (info: RoundInfo) => void;
  /** Builds the kafkajs cluster; tests replace it to inject failures. */
  createCluster?: (options: InternalClusterOptions) => InternalCluster;
}

export interface RoundInfo {
  clusterLabel: string;
  /** Requests (triggers) served by the round. */
  requests: number;
  durationMs: number;
  /** Kafka requests sent during the round, by API. */
  kafkaRequests: RequestCounts;
  /** Requests answered with an error. */
  errors: number;
  timedOut: boolean;
}

interface TopicMeta {
  /** Partition ids, sorted. */
  ids: number[];
  /** Partition id → leader node id. */
  leaderOf: Map<number, number>;
  fetchedAt: number;
}

/** The partitions a request reads: its topics (sorted) and, per topic, partition ids (sorted). */
interface Plan {
  topics: string[];
  partitions: Map<string, number[]>;
}

/**
 * Above this many partitions, a group's OffsetFetch asks for all its committed offsets instead of naming
 * them: kafkajs encodes every named partition into a buffer of its own, which at thousands of partitions
 * costs more CPU than the larger answer.
 */
const NAMED_OFFSET_FETCH_LIMIT = 200;

interface Entry {
  request: LagRequest;
  resolve: (result: LagReadResult) => void;
  /** Set once; handed to the caller when the round ends. */
  result?: LagReadResult;
}

type GroupOffsets = Map<string, Map<number, number>>;
type Outcome<T> = { ok: true; value: T } | { ok: false; kind: LagReadErrorKind; error: string };

function requestSignature(r: LagRequest): string {
  const named = hasTopic(r);
  const limitation =
    named && r.partitionLimitation ? [...r.partitionLimitation].sort((a, b) => a - b).join(",") : "*";
  // Group names and topics cannot hold NUL characters.
  return `${r.consumerGroup}\u0000${named ? r.topic.trim() : ""}\u0000${limitation}\u0000${r.needLogStart === true}`;
}

function metaOf(topicState: Map<string, Outcome<TopicMeta>>, topic: string): TopicMeta | undefined {
  const s = topicState.get(topic);
  return s?.ok ? s.value : undefined;
}

/** Partitions wanted per topic: every partition of the topic, or some of them. */
class Needed {
  private readonly all = new Set<string>();
  private readonly some = new Map<string, Set<number>>();

  add(topic: string, ids: readonly number[], all: boolean): void {
    if (this.all.has(topic)) return;
    if (all) {
      this.all.add(topic);
      this.some.delete(topic);
      return;
    }
    let set = this.some.get(topic);
    if (!set) this.some.set(topic, (set = new Set()));
    for (const id of ids) set.add(id);
  }

  topics(): string[] {
    return [...this.all, ...this.some.keys()];
  }

  /** Sorted partition ids wanted of `topic`. */
  ids(topic: string, topicState: Map<string, Outcome<TopicMeta>>): number[] {
    if (this.all.has(topic)) return metaOf(topicState, topic)?.ids ?? [];
    return [...(this.some.get(topic) ?? [])].sort((a, b) => a - b);
  }

  size(topicState: Map<string, Outcome<TopicMeta>>): number {
    let n = 0;
    for (const t of this.all) n += metaOf(topicState, t)?.ids.length ?? 0;
    for (const set of this.some.values()) n += set.size;
    return n;
  }
}

function fail(kind: LagReadErrorKind, error: string): LagReadResult {
  return { ok: false, kind, error };
}

function hasTopic(request: LagRequest): request is LagRequest & { topic: string } {
  return request.topic !== undefined && request.topic.trim() !== "";
}

/** One connection and its caches, for one cluster identity. */
class ClusterClient {
  readonly label: string;
  lastUsed = Date.now();
  rounds = 0;
  readonly counts: RequestCounts = {};
  private cluster: InternalCluster | undefined;
  private connecting: Promise<InternalCluster> | undefined;
  private readonly topics = new Map<string, TopicMeta>();
  private readonly coordinators = new Map<string, number>();
  private pending: Entry[] = [];
  private scheduled = false;
  private inFlight = false;
  private readonly limiter: Limiter;
  private readonly isolationLevel: number;

  constructor(
    private readonly connection: KafkaConnection,
    private readonly options: Required<
      Omit<BatchedLagReaderOptions, "logger" | "onRequest" | "onRound" | "createCluster">
    > &
      Pick<BatchedLagReaderOptions, "onRequest" | "onRound" | "createCluster">,
    private readonly log: Logger,
    private readonly countInto: RequestCounts,
  ) {
    this.label = connectionLabel(connection);
    this.limiter = new Limiter(options.concurrency);
    this.isolationLevel = options.isolationLevel === "read_committed" ? READ_COMMITTED : READ_UNCOMMITTED;
  }

  get busy(): boolean {
    return this.inFlight || this.scheduled || this.pending.length > 0;
  }

  get connected(): boolean {
    return this.cluster !== undefined;
  }

  get cachedTopics(): number {
    return this.topics.size;
  }

  enqueue(request: LagRequest): Promise<LagReadResult> {
    this.lastUsed = Date.now();
    return new Promise<LagReadResult>((resolve) => {
      this.pending.push({ request, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled || this.pending.length === 0) return;
    this.scheduled = true;
    // Callers in the same tick (a controller evaluating many triggers at once) join this round.
    setImmediate(() => {
      this.scheduled = false;
      void this.startRound();
    });
  }

  private async startRound(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.inFlight = true;
    this.rounds++;
    const started = performance.now();
    const before = { ...this.counts };
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.options.roundTimeoutMs);
    });
    try {
      const outcome = await Promise.race([this.runRound(batch).then(() => "done" as const), deadline]);
      if (outcome === "timeout") {
        timedOut = true;
        this.settleAll(
          batch,
          fail("cluster", `no answer from Kafka (${this.label}) within ${this.options.roundTimeoutMs} ms`),
        );
        this.dropConnection("round timed out");
      }
    } catch (error) {
      // runRound answers every entry itself; this is a bug guard so that no caller waits forever.
      this.log.error({ err: error, cluster: this.label }, "lag read round failed unexpectedly");
      this.settleAll(batch, fail("cluster", `lag read failed: ${describeKafkaError(error)}`));
    } finally {
      clearTimeout(timer);
      this.inFlight = false;
    }
    const kafkaRequests: RequestCounts = {};
    for (const [api, n] of Object.entries(this.counts)) {
      const delta = n - (before[api] ?? 0);
      if (delta > 0) kafkaRequests[api] = delta;
    }
    this.options.onRound?.({
      clusterLabel: this.label,
      requests: batch.length,
      durationMs: performance.now() - started,
      kafkaRequests,
      errors: batch.filter((e) => e.result?.ok !== true).length,
      timedOut,
    });
    // Answers go out when the round is over, so that a caller's next read finds the cluster idle.
    for (const entry of batch)
      entry.resolve(entry.result ?? fail("cluster", "lag read round ended without an answer"));
    this.schedule();
  }

  private settle(entry: Entry, result: LagReadResult): void {
    entry.result ??= result;
  }

  private settleAll(batch: Entry[], result: LagReadResult): void {
    for (const entry of batch) this.settle(entry, result);
  }

  private countRequest(apiName: string): void {
    this.counts[apiName] = (this.counts[apiName] ?? 0) + 1;
    this.countInto[apiName] = (this.countInto[apiName] ?? 0) + 1;
    this.options.onRequest?.(this.label, apiName);
  }

  private async connect(): Promise<InternalCluster> {
    if (this.cluster) return this.cluster;
    if (!this.connecting) {
      const attempt = connectInternalCluster({
        connection: this.connection,
        clientId: this.options.clientId,
        timeouts: {
          connectionTimeoutMs: this.options.connectionTimeoutMs,
          requestTimeoutMs: this.options.requestTimeoutMs,
          retries: this.options.retries,
        },
        log: this.log,
        label: this.label,
        onRequest: (apiName) => this.countRequest(apiName),
        ...(this.options.createCluster ? { createCluster: this.options.createCluster } : {}),
      });
      this.connecting = attempt;
      attempt.then(
        (cluster) => {
          if (this.connecting === attempt) {
            this.cluster = cluster;
            this.connecting = undefined;
          } else void cluster.disconnect().catch(() => undefined);
        },
        () => {
          if (this.connecting === attempt) this.connecting = undefined;
        },
      );
    }
    return this.connecting;
  }

  /** Forgets the connection and everything learnt through it; the next round starts afresh. */
  dropConnection(reason: string): void {
    const cluster = this.cluster;
    this.cluster = undefined;
    this.connecting = undefined;
    this.coordinators.clear();
    this.topics.clear();
    if (cluster) {
      this.log.debug({ cluster: this.label, reason }, "dropping Kafka connection");
      void cluster.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const cluster = this.cluster;
    this.dropConnection("closed");
    if (cluster) await cluster.disconnect().catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------------
  // One round

  private async runRound(batch: Entry[]): Promise<void> {
    let cluster: InternalCluster;
    try {
      cluster = await this.connect();
    } catch (error) {
      this.settleAll(
        batch,
        fail("cluster", `cannot connect to Kafka (${this.label}): ${describeKafkaError(error)}`),
      );
      return;
    }
    try {
      await this.round(cluster, batch);
    } catch (error) {
      // Errors that are not tied to a topic, group or leader (the connection went away mid-round).
      this.settleAll(batch, fail("cluster", `Kafka (${this.label}) failed: ${describeKafkaError(error)}`));
      if (isKafkaConnectionError(error)) this.dropConnection(describeKafkaError(error));
    }
  }

  private async round(cluster: InternalCluster, batch: Entry[]): Promise<void> {
    const now = Date.now();
    // Triggers asking the same thing (same group, topic, limitation and log-start need) share one answer.
    const distinct = new Map<string, Entry[]>();
    for (const entry of batch) {
      const key = requestSignature(entry.request);
      const same = distinct.get(key);
      if (same) same.push(entry);
      else distinct.set(key, [entry]);
    }
    const requests = [...distinct.values()].map((entries) => ({ request: entries[0]!.request, entries }));
    const answer = (entries: Entry[], result: LagReadResult) => {
      for (const e of entries) this.settle(e, result);
    };

    // Step 2: metadata for named topics, and the committed topics of groups asked without a topic.
    const namedTopics = new Set<string>();
    const unfiltered = new Set<string>();
    for (const { request } of requests) {
      if (hasTopic(request)) namedTopics.add(request.topic.trim());
      else unfiltered.add(request.consumerGroup);
    }
    const topicState = new Map<string, Outcome<TopicMeta>>();
    const groupState = new Map<string, Outcome<GroupOffsets>>();
    await Promise.all([
      this.describeTopics(cluster, namedTopics, topicState, now),
      ...[...unfiltered].map(async (group) => {
        groupState.set(group, await this.fetchCommitted(cluster, group, "all"));
      }),
    ]);

    // Step 3: metadata for the topics those groups have.
    const discovered = new Set<string>();
    for (const group of unfiltered) {
      const state = groupState.get(group);
      if (state?.ok)
        for (const topic of state.value.keys()) if (!topicState.has(topic)) discovered.add(topic);
    }
    await this.describeTopics(cluster, discovered, topicState, now);

    // Which partitions each request reads; the union per topic, and per group for its OffsetFetch.
    const plans: { request: LagRequest; entries: Entry[]; plan: Plan }[] = [];
    const needed = new Needed();
    const wantedByGroup = new Map<string, Needed>();
    for (const { request, entries } of requests) {
      const plan = this.plan(request, topicState, groupState);
      if (!plan.ok) {
        answer(entries, fail(plan.kind, plan.error));
        continue;
      }
      plans.push({ request, entries, plan: plan.value });
      const group = request.consumerGroup;
      let wanted = wantedByGroup.get(group);
      if (!wanted && !unfiltered.has(group)) wantedByGroup.set(group, (wanted = new Needed()));
      for (const [topic, ids] of plan.value.partitions) {
        const all = ids === metaOf(topicState, topic)?.ids;
        needed.add(topic, ids, all);
        wanted?.add(topic, ids, all);
      }
    }

    // Step 4: committed offsets of the other groups, and end offsets of every partition, at once.
    const [latest] = await Promise.all([
      this.listOffsets(cluster, needed, topicState, LATEST_TIMESTAMP),
      ...[...wantedByGroup].map(async ([group, wanted]) => {
        // Naming many partitions costs more to encode than the answer it saves: ask for all the group's
        // commits then (absent partitions have none, as with a topic-less trigger).
        if (wanted.size(topicState) > NAMED_OFFSET_FETCH_LIMIT) {
          unfiltered.add(group);
          groupState.set(group, await this.fetchCommitted(cluster, group, "all"));
          return;
        }
        const request: OffsetFetchTopic[] = wanted.topics().map((topic) => ({
          topic,
          partitions: wanted.ids(topic, topicState).map((partition) => ({ partition })),
        }));
        groupState.set(group, await this.fetchCommitted(cluster, group, request));
      }),
    ]);

    // Committed offsets per request, and the partitions that need a log-start offset.
    const earliestNeeded = new Needed();
    const committedOf = new Map<LagRequest, Map<string, (number | undefined)[]>>();
    for (const { request, entries, plan } of plans) {
      const state = groupState.get(request.consumerGroup);
      if (!state || !state.ok) {
        answer(
          entries,
          state ?? fail("group", `committed offsets of '${request.consumerGroup}' were not read`),
        );
        continue;
      }
      const absent = unfiltered.has(request.consumerGroup) ? -1 : undefined;
      const perTopic = new Map<string, (number | undefined)[]>();
      for (const [topic, ids] of plan.partitions) {
        const offsets = state.value.get(topic);
        const values = ids.map((id) => offsets?.get(id) ?? absent);
        perTopic.set(topic, values);
        if (request.needLogStart) {
          ids.forEach((id, i) => {
            if (values[i] === -1) earliestNeeded.add(topic, [id], false);
          });
        }
      }
      committedOf.set(request, perTopic);
    }

    // Step 5: log-start offsets where the lag math will use them.
    const earliest =
      earliestNeeded.size(topicState) > 0
        ? await this.listOffsets(cluster, earliestNeeded, topicState, EARLIEST_TIMESTAMP)
        : { offsets: new Map<string, Map<number, number>>(), errors: new Map<string, string>() };

    for (const { request, entries, plan } of plans) {
      const perTopic = committedOf.get(request);
      if (!perTopic) continue;
      const partitions: PartitionOffsets[] = [];
      let error: string | undefined;
      for (const [topic, ids] of plan.partitions) {
        error ??= latest.errors.get(topic);
        if (request.needLogStart) error ??= earliest.errors.get(topic);
        const committed = perTopic.get(topic)!;
        const ends = latest.offsets.get(topic);
        const starts = request.needLogStart ? earliest.offsets.get(topic) : undefined;
        ids.forEach((partition, i) => {
          const c = committed[i];
          const logStart = c === -1 ? starts?.get(partition) : undefined;
          partitions.push(
            logStart === undefined
              ? { topic, partition, committed: c, latest: ends?.get(partition) }
              : { topic, partition, committed: c, latest: ends?.get(partition), logStart },
          );
        });
      }
      if (error !== undefined) answer(entries, fail("offsets", error));
      else if (hasTopic(request)) answer(entries, { ok: true, topics: plan.topics, partitions });
      // Without a topic the plan's topics are the group's committed topics (empty: D3).
      else answer(entries, { ok: true, topics: plan.topics, partitions, groupTopics: plan.topics });
    }
  }

  private plan(
    request: LagRequest,
    topicState: Map<string, Outcome<TopicMeta>>,
    groupState: Map<string, Outcome<GroupOffsets>>,
  ): Outcome<Plan> {
    let topics: string[];
    let limitation: Set<number> | undefined;
    if (hasTopic(request)) {
      topics = [request.topic.trim()];
      if (request.partitionLimitation !== undefined) limitation = new Set(request.partitionLimitation);
    } else {
      const group = groupState.get(request.consumerGroup);
      if (!group) return { ok: false, kind: "group", error: "committed topics were not read" };
      if (!group.ok) return group;
      topics = [...group.value.keys()].sort();
    }
    const partitions = new Map<string, number[]>();
    for (const topic of topics) {
      const meta = topicState.get(topic);
      if (!meta) return { ok: false, kind: "topic", error: `metadata of topic '${topic}' was not read` };
      if (!meta.ok) return meta;
      const kept =
        limitation === undefined ? meta.value.ids : meta.value.ids.filter((id) => limitation.has(id));
      if (kept.length === 0) {
        return {
          ok: false,
          kind: "request",
          error: `expected at least one active partition within the topic '${topic}'`,
        };
      }
      partitions.set(topic, kept);
    }
    return { ok: true, value: { topics, partitions } };
  }

  // ---------------------------------------------------------------------------------------------------
  // Metadata

  /** Fills `into` for each topic: from the cache when fresh, else from one Metadata request for all of them. */
  private async describeTopics(
    cluster: InternalCluster,
    topics: Set<string>,
    into: Map<string, Outcome<TopicMeta>>,
    now: number,
  ): Promise<void> {
    const missing: string[] = [];
    for (const topic of topics) {
      const cached = this.topics.get(topic);
      if (cached && now - cached.fetchedAt < this.options.metadataMaxAgeMs)
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
        out.set(topic, entry ? { ok: true, value: this.remember(cluster, entry) } : this.unknownTopic(topic));
      }
      return out;
    } catch (error) {
      if (isKafkaConnectionError(error) || kafkaErrorType(error) === undefined) throw error;
      if (topics.length === 1) {
        out.set(topics[0]!, this.topicError(topics[0]!, error));
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
    return this.limiter.run(async () => {
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
    if (cluster === this.cluster) this.topics.set(entry.topic, meta);
    return meta;
  }

  private unknownTopic(topic: string): Outcome<TopicMeta> {
    return {
      ok: false,
      kind: "topic",
      error: `topic '${topic}' does not exist (unknown topic or partition)`,
    };
  }

  private topicError(topic: string, error: unknown): Outcome<TopicMeta> {
    const type = kafkaErrorType(error);
    if (type === "UNKNOWN_TOPIC_OR_PARTITION") return this.unknownTopic(topic);
    return {
      ok: false,
      kind: "topic",
      error: `error describing topic '${topic}': ${describeKafkaError(error)}`,
    };
  }

  // ---------------------------------------------------------------------------------------------------
  // Committed offsets

  private async fetchCommitted(
    cluster: InternalCluster,
    group: string,
    topics: OffsetFetchTopic[] | "all",
  ): Promise<Outcome<GroupOffsets>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.limiter.run(async () => {
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
      if (cluster === this.cluster) this.coordinators.set(group, nodeId);
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
  private async listOffsets(
    cluster: InternalCluster,
    wanted: Needed,
    topicState: Map<string, Outcome<TopicMeta>>,
    timestamp: number,
  ): Promise<{ offsets: Map<string, Map<number, number>>; errors: Map<string, string> }> {
    const offsets = new Map<string, Map<number, number>>();
    const errors = new Map<string, string>();
    const what = timestamp === EARLIEST_TIMESTAMP ? "log-start" : "end";
    /** leader → topic → partition ids */
    const byLeader = (topics: Iterable<string>, metaOf: (topic: string) => TopicMeta | undefined) => {
      const out = new Map<number, Map<string, number[]>>();
      for (const topic of topics) {
        const meta = metaOf(topic);
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
      const response = await this.limiter.run(async () => {
        const broker = await this.findBroker(cluster, leader);
        return broker.listOffsets({ isolationLevel: this.isolationLevel, topics: request });
      });
      for (const t of response.responses) {
        let m = offsets.get(t.topic);
        if (!m) offsets.set(t.topic, (m = new Map()));
        for (const p of t.partitions) m.set(p.partition, Number(p.offset));
      }
    };
    const metaNow = (topic: string) => metaOf(topicState, topic);
    const failed = new Set<string>();
    await Promise.all(
      [...byLeader(wanted.topics(), metaNow)].map(async ([leader, topics]) => {
        try {
          await send(leader, topics);
        } catch (error) {
          this.log.debug(
            { cluster: this.label, leader, err: error },
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

  /** Drops cached metadata of topics no trigger asked for within `idleMs`. */
  pruneTopics(idleMs: number): void {
    const now = Date.now();
    for (const [topic, meta] of this.topics) if (now - meta.fetchedAt > idleMs) this.topics.delete(topic);
  }
}

const DEFAULTS = {
  clientId: "lagscale",
  connectionTimeoutMs: 3000,
  requestTimeoutMs: 5000,
  roundTimeoutMs: 10_000,
  retries: 2,
  concurrency: 16,
  metadataMaxAgeMs: 60_000,
  idleCloseMs: 300_000,
  isolationLevel: "read_uncommitted" as const,
};

export class BatchedLagReader implements LagReader {
  private readonly clients = new Map<string, ClusterClient>();
  /** Connection objects are usually reused from read to read: their key is computed once. */
  private readonly keys = new WeakMap<KafkaConnection, string>();
  private readonly options: ConstructorParameters<typeof ClusterClient>[1];
  private readonly log: Logger;
  private readonly totals: RequestCounts = {};
  private closedRounds = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: BatchedLagReaderOptions = {}) {
    const { logger, ...rest } = options;
    this.options = { ...DEFAULTS, ...stripUndefined(rest) };
    this.log = logger ?? createLogger("lag-reader");
  }

  read(request: LagRequest): Promise<LagReadResult> {
    if (request.consumerGroup.trim() === "")
      return Promise.resolve(fail("request", "no consumer group given"));
    const problems = connectionProblems(request.cluster);
    if (problems.length > 0) return Promise.resolve(fail("request", problems.join("; ")));
    let key = this.keys.get(request.cluster);
    if (key === undefined) this.keys.set(request.cluster, (key = connectionKey(request.cluster)));
    let client = this.clients.get(key);
    if (!client) {
      client = new ClusterClient(request.cluster, this.options, this.log, this.totals);
      this.clients.set(key, client);
    }
    if (!this.sweeper) {
      const every = Math.max(10, Math.min(this.options.idleCloseMs / 2, 60_000));
      this.sweeper = setInterval(() => this.sweep(), every);
      this.sweeper.unref();
    }
    return client.enqueue({ ...request, consumerGroup: request.consumerGroup.trim() });
  }

  stats(): ReaderStats {
    const clusters: ClusterStats[] = [...this.clients.values()].map((c) => ({
      label: c.label,
      connected: c.connected,
      rounds: c.rounds,
      requests: { ...c.counts },
      cachedTopics: c.cachedTopics,
    }));
    const requests = addCounts({}, this.totals);
    return {
      requests,
      totalRequests: sumCounts(requests),
      rounds: this.closedRounds + clusters.reduce((n, c) => n + c.rounds, 0),
      clusters,
    };
  }

  /** Closes connections no trigger used for `idleCloseMs`. Runs on a timer; callable directly. */
  sweep(now = Date.now()): void {
    for (const [key, client] of this.clients) {
      if (!client.busy && now - client.lastUsed >= this.options.idleCloseMs) {
        this.closedRounds += client.rounds;
        this.clients.delete(key);
        void client.close();
        this.log.debug({ cluster: client.label }, "closed idle Kafka connection");
      } else client.pruneTopics(this.options.idleCloseMs);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const clients = [...this.clients.values()];
    for (const c of clients) this.closedRounds += c.rounds;
    this.clients.clear();
    await Promise.all(clients.map((c) => c.close()));
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
