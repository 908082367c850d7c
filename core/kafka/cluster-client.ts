/**
 * One cluster identity's client: its connection, its queue of reads and its rounds. Reads that arrive in
 * the same tick, or while a round is in flight, are served by the next round together; a round that has not
 * ended by `roundTimeoutMs` fails its reads with a cluster error and the connection is rebuilt.
 *
 * A round (docs/lag-reader.md, "A round"):
 *   1. connect (once per connection: ApiVersions, SASL, a Metadata request for the broker list);
 *   2. at once: Metadata for named topics not cached (one request), and an OffsetFetch with no topic filter
 *      for each group that has a trigger without a topic;
 *   3. Metadata for the topics those groups turned out to have, when not cached (one request);
 *   4. at once: the committed offsets of the remaining groups (all their topics and partitions), and one
 *      ListOffsets (latest, read-uncommitted) per partition leader covering every partition of the round;
 *   5. one ListOffsets (earliest) per leader for the partitions that need a log-start offset, if any.
 * Committed offsets (steps 2 and 4) go in one OffsetFetch per group coordinator carrying all its groups where
 * the brokers support it (Kafka ≥ 3.0), one per group otherwise (cluster-requests.ts).
 */
import type { Logger } from "pino";
import type { BatchedLagReaderOptions } from "./batched-reader.js";
import { ClusterRequests } from "./cluster-requests.js";
import { connectInternalCluster, connectionLabel } from "./connection.js";
import {
  describeKafkaError,
  EARLIEST_TIMESTAMP,
  isKafkaConnectionError,
  LATEST_TIMESTAMP,
  READ_COMMITTED,
  READ_UNCOMMITTED,
  type InternalCluster,
  type OffsetFetchTopic,
} from "./kafkajs-internals.js";
import { Limiter } from "./limiter.js";
import {
  fail,
  hasTopic,
  metaOf,
  NAMED_OFFSET_FETCH_LIMIT,
  Needed,
  planRequest,
  requestSignature,
  type GroupOffsets,
  type Outcome,
  type TopicMeta,
} from "./round-plan.js";
import {
  assembleResults,
  committedPerRequest,
  type OffsetsByTopic,
  type PlannedRequest,
} from "./round-result.js";
import type { KafkaConnection, LagReadResult, LagRequest, RequestCounts } from "./types.js";

/** The reader's options with their defaults applied. */
export type ClusterClientOptions = Required<
  Omit<BatchedLagReaderOptions, "logger" | "onRequest" | "onRound" | "createCluster">
> &
  Pick<BatchedLagReaderOptions, "onRequest" | "onRound" | "createCluster">;

interface Entry {
  request: LagRequest;
  resolve: (result: LagReadResult) => void;
  /** Set once; handed to the caller when the round ends. */
  result?: LagReadResult;
}

export class ClusterClient {
  readonly label: string;
  lastUsed = Date.now();
  rounds = 0;
  readonly counts: RequestCounts = {};
  private cluster: InternalCluster | undefined;
  private connecting: Promise<InternalCluster> | undefined;
  private readonly requests: ClusterRequests;
  private pending: Entry[] = [];
  private scheduled = false;
  private inFlight = false;

  constructor(
    private readonly connection: KafkaConnection,
    private readonly options: ClusterClientOptions,
    private readonly log: Logger,
    private readonly countInto: RequestCounts,
  ) {
    this.label = connectionLabel(connection);
    this.requests = new ClusterRequests({
      label: this.label,
      limiter: new Limiter(options.concurrency),
      isolationLevel: options.isolationLevel === "read_committed" ? READ_COMMITTED : READ_UNCOMMITTED,
      metadataMaxAgeMs: options.metadataMaxAgeMs,
      multiGroupRequests: options.multiGroupRequests,
      log,
      isCurrent: (cluster) => cluster === this.cluster,
    });
  }

  get busy(): boolean {
    return this.inFlight || this.scheduled || this.pending.length > 0;
  }

  get connected(): boolean {
    return this.cluster !== undefined;
  }

  get cachedTopics(): number {
    return this.requests.cachedTopics;
  }

  enqueue(request: LagRequest): Promise<LagReadResult> {
    this.lastUsed = Date.now();
    return new Promise<LagReadResult>((resolve) => {
      this.pending.push({ request, resolve });
      this.schedule();
    });
  }

  /** Drops cached metadata of topics no trigger asked for within `idleMs`. */
  pruneTopics(idleMs: number): void {
    this.requests.pruneTopics(idleMs);
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
        settleAll(
          batch,
          fail("cluster", `no answer from Kafka (${this.label}) within ${this.options.roundTimeoutMs} ms`),
        );
        this.dropConnection("round timed out");
      }
    } catch (error) {
      // runRound answers every entry itself; this is a bug guard so that no caller waits forever.
      this.log.error({ err: error, cluster: this.label }, "lag read round failed unexpectedly");
      settleAll(batch, fail("cluster", `lag read failed: ${describeKafkaError(error)}`));
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
    this.requests.clear();
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
      settleAll(
        batch,
        fail("cluster", `cannot connect to Kafka (${this.label}): ${describeKafkaError(error)}`),
      );
      return;
    }
    try {
      await this.round(cluster, batch);
    } catch (error) {
      // Errors that are not tied to a topic, group or leader (the connection went away mid-round).
      settleAll(batch, fail("cluster", `Kafka (${this.label}) failed: ${describeKafkaError(error)}`));
      if (isKafkaConnectionError(error)) this.dropConnection(describeKafkaError(error));
    }
  }

  private async round(cluster: InternalCluster, batch: Entry[]): Promise<void> {
    const now = Date.now();
    const k = this.requests;
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
      for (const e of entries) e.result ??= result;
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
      k.describeTopics(cluster, namedTopics, topicState, now),
      k.fetchCommittedMany(cluster, new Map([...unfiltered].map((g) => [g, "all" as const]))).then((got) => {
        for (const [group, outcome] of got) groupState.set(group, outcome);
      }),
    ]);

    // Step 3: metadata for the topics those groups have.
    const discovered = new Set<string>();
    for (const group of unfiltered) {
      const state = groupState.get(group);
      if (state?.ok)
        for (const topic of state.value.keys()) if (!topicState.has(topic)) discovered.add(topic);
    }
    await k.describeTopics(cluster, discovered, topicState, now);

    // Which partitions each request reads; the union per topic, and per group for its OffsetFetch.
    const plans: PlannedRequest<Entry>[] = [];
    const needed = new Needed();
    const wantedByGroup = new Map<string, Needed>();
    for (const { request, entries } of requests) {
      const plan = planRequest(request, topicState, groupState);
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
    const asks = new Map<string, OffsetFetchTopic[] | "all">();
    for (const [group, wanted] of wantedByGroup) {
      // Naming many partitions costs more to encode than the answer it saves: ask for all the group's
      // commits then (absent partitions have none, as with a topic-less trigger).
      if (wanted.size(topicState) > NAMED_OFFSET_FETCH_LIMIT) {
        unfiltered.add(group);
        asks.set(group, "all");
        continue;
      }
      const topics = wanted.topics().map((topic) => ({
        topic,
        partitions: wanted.ids(topic, topicState).map((partition) => ({ partition })),
      }));
      asks.set(group, topics);
    }
    const [latest] = await Promise.all([
      k.listOffsets(cluster, needed, topicState, LATEST_TIMESTAMP),
      k.fetchCommittedMany(cluster, asks).then((got) => {
        for (const [group, outcome] of got) groupState.set(group, outcome);
      }),
    ]);

    const { committed, earliestNeeded } = committedPerRequest(plans, groupState, unfiltered, answer);

    // Step 5: log-start offsets where the lag math will use them.
    const earliest: OffsetsByTopic =
      earliestNeeded.size(topicState) > 0
        ? await k.listOffsets(cluster, earliestNeeded, topicState, EARLIEST_TIMESTAMP)
        : { offsets: new Map(), errors: new Map() };

    assembleResults(plans, committed, latest, earliest, answer);
  }
}

function settleAll(batch: Entry[], result: LagReadResult): void {
  for (const entry of batch) entry.result ??= result;
}
