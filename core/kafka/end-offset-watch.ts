/**
 * The end-offset watch: every `intervalMs` (1 s), the log-end offsets of every watched topic, read with one
 * ListOffsets (latest) per partition-leader broker of each Kafka cluster, whatever the number of topics and
 * triggers. It tells the controller that messages arrived between two polls, so a burst is seen within a
 * tick even while no consumer pod runs (docs/reaction.md weighs it against per-pod reports).
 *
 * Per cluster: one connection of its own (kafkajs-internals, as the lag reader; the reader's rounds are not
 * delayed by the watch), topic metadata asked once and again only after `metadataMaxAgeMs`, when a leader
 * moved (a ListOffsets error) or when the set of watched topics grew. A cluster whose previous tick has not
 * finished skips the tick. Errors stay within their cluster (or topic) and are logged once per change.
 *
 * I/O only: which topics to watch and what the offsets mean are the caller's business (`WatchSource`).
 */
import type { Logger } from "pino";
import { createLogger } from "../log.js";
import { connectInternalCluster, connectionKey, connectionLabel, connectionProblems } from "./connection.js";
import {
  describeKafkaError,
  isKafkaConnectionError,
  kafkaErrorType,
  LATEST_TIMESTAMP,
  READ_UNCOMMITTED,
  type InternalCluster,
  type InternalClusterOptions,
} from "./kafkajs-internals.js";
import { addCounts, sumCounts, type KafkaConnection, type RequestCounts } from "./types.js";

/** One topic to watch on one cluster. */
export interface WatchedTopic {
  readonly cluster: KafkaConnection;
  readonly topic: string;
}

/** Log-end offsets of one topic at one tick. */
export interface TopicEndOffsets {
  /** connectionKey of the cluster. */
  readonly clusterKey: string;
  readonly topic: string;
  /** Partition → log-end offset, for the partitions read this tick. */
  readonly endOffsets: ReadonlyMap<number, number>;
  /** Sum of `endOffsets`. */
  readonly sum: number;
  /** Some partition's log-end offset differs from the previous tick's (false at the first tick). */
  readonly moved: boolean;
}

export interface WatchTick {
  readonly at: number;
  /** Topics read this tick; a topic or cluster that failed is absent. */
  readonly topics: readonly TopicEndOffsets[];
}

/** The watch's caller: which topics to watch now, and what to do with each tick. */
export interface WatchSource {
  topics(): readonly WatchedTopic[];
  onTick(tick: WatchTick): void;
}

export interface EndOffsetWatchOptions {
  /** Default 1000 ms. */
  intervalMs?: number;
  /** Topic metadata (partitions, leaders) is asked again after this long. Default 60000 ms. */
  metadataMaxAgeMs?: number;
  clientId?: string;
  connectionTimeoutMs?: number;
  /** Timeout of one Kafka request; a tick never waits longer for a broker. Default 3000 ms. */
  requestTimeoutMs?: number;
  logger?: Logger;
  /** Called for every Kafka request sent (one response or one timeout each). */
  onRequest?: (clusterLabel: string, apiName: string) => void;
  /** Builds the kafkajs cluster; tests replace it to inject failures. */
  createCluster?: (options: InternalClusterOptions) => InternalCluster;
}

export interface WatchClusterStats {
  readonly label: string;
  readonly connected: boolean;
  readonly ticks: number;
  readonly topics: number;
  readonly requests: RequestCounts;
  /** The cluster's current error, if its last tick failed. */
  readonly error?: string | undefined;
}

export interface WatchStats {
  readonly ticks: number;
  readonly requests: RequestCounts;
  readonly totalRequests: number;
  readonly clusters: readonly WatchClusterStats[];
}

interface TopicMeta {
  leaderOf: Map<number, number>;
  fetchedAt: number;
}

/** How soon a topic that does not exist (yet) or whose metadata failed is asked again. */
const TOPIC_RETRY_MS = 10_000;

type Settings = Required<Omit<EndOffsetWatchOptions, "logger" | "onRequest" | "createCluster">> &
  Pick<EndOffsetWatchOptions, "onRequest" | "createCluster">;

/** The watch of one cluster: its connection, leaders, previous offsets and error. */
class ClusterWatch {
  readonly label: string;
  readonly counts: RequestCounts = {};
  ticks = 0;
  busy = false;
  error: string | undefined;
  topicCount = 0;
  private cluster: InternalCluster | undefined;
  private readonly meta = new Map<string, TopicMeta>();
  private readonly previous = new Map<string, ReadonlyMap<number, number>>();
  private readonly topicErrors = new Map<string, string>();

  constructor(
    readonly key: string,
    private readonly connection: KafkaConnection,
    private readonly s: Settings,
    private readonly log: Logger,
    private readonly countInto: RequestCounts,
  ) {
    this.label = connectionLabel(connection);
  }

  get connected(): boolean {
    return this.cluster !== undefined;
  }

  async tick(topics: readonly string[], now: number): Promise<TopicEndOffsets[]> {
    this.ticks++;
    this.topicCount = topics.length;
    for (const t of [...this.previous.keys()]) {
      if (!topics.includes(t)) {
        this.previous.delete(t);
        this.meta.delete(t);
        this.topicErrors.delete(t);
      }
    }
    try {
      const cluster = await this.connect();
      await this.refreshMetadata(cluster, topics, now);
      const out = await this.listEndOffsets(cluster, topics);
      this.setClusterError(undefined);
      return out;
    } catch (error) {
      this.setClusterError(`Kafka (${this.label}): ${describeKafkaError(error)}`);
      if (isKafkaConnectionError(error) || kafkaErrorType(error) === undefined) this.drop();
      return [];
    }
  }

  private async connect(): Promise<InternalCluster> {
    if (this.cluster) return this.cluster;
    const cluster = await connectInternalCluster({
      connection: this.connection,
      clientId: this.s.clientId,
      timeouts: {
        connectionTimeoutMs: this.s.connectionTimeoutMs,
        requestTimeoutMs: this.s.requestTimeoutMs,
        retries: 0, // the next tick is the retry
      },
      log: this.log,
      label: this.label,
      onRequest: (apiName) => {
        this.counts[apiName] = (this.counts[apiName] ?? 0) + 1;
        this.countInto[apiName] = (this.countInto[apiName] ?? 0) + 1;
        this.s.onRequest?.(this.label, apiName);
      },
      ...(this.s.createCluster ? { createCluster: this.s.createCluster } : {}),
    });
    this.cluster = cluster;
    return cluster;
  }

  drop(): void {
    const cluster = this.cluster;
    this.cluster = undefined;
    this.meta.clear();
    if (cluster) void cluster.disconnect().catch(() => undefined);
  }

  /** One Metadata request for the topics without fresh leaders; one per topic only when it fails. */
  private async refreshMetadata(cluster: InternalCluster, topics: readonly string[], now: number) {
    const stale = topics.filter((t) => {
      const m = this.meta.get(t);
      return !m || now - m.fetchedAt >= this.s.metadataMaxAgeMs;
    });
    if (stale.length === 0) return;
    const ask = async (names: string[]): Promise<void> => {
      try {
        const broker = await cluster.brokerPool.findConnectedBroker();
        const response = await broker.metadata(names);
        for (const name of names) {
          const t = response.topicMetadata.find((e) => e.topic === name);
          if (t) {
            this.meta.set(name, {
              leaderOf: new Map(t.partitionMetadata.map((p) => [p.partitionId, p.leader])),
              fetchedAt: now,
            });
          } else this.unreadable(name, now, `topic '${name}' does not exist (unknown topic or partition)`);
        }
        const known = new Set(cluster.getNodeIds());
        const leaders = response.topicMetadata.flatMap((t) => t.partitionMetadata.map((p) => p.leader));
        if (leaders.some((id) => !known.has(String(id)))) await cluster.refreshMetadata();
      } catch (error) {
        // kafkajs fails the whole response for one topic's error: ask each alone to find the bad one.
        if (isKafkaConnectionError(error) || kafkaErrorType(error) === undefined) throw error;
        if (names.length > 1) await Promise.all(names.map((n) => ask([n])));
        else this.unreadable(names[0]!, now, `topic '${names[0]!}': ${describeKafkaError(error)}`);
      }
    };
    await ask(stale.sort());
  }

  /** A topic without usable metadata is asked again after TOPIC_RETRY_MS, not every tick. */
  private unreadable(topic: string, now: number, error: string): void {
    this.meta.set(topic, {
      leaderOf: new Map(),
      fetchedAt: now - this.s.metadataMaxAgeMs + Math.min(TOPIC_RETRY_MS, this.s.metadataMaxAgeMs),
    });
    this.setTopicError(topic, error);
  }

  /** One ListOffsets (latest) per leader for every partition of every topic it leads. */
  private async listEndOffsets(
    cluster: InternalCluster,
    topics: readonly string[],
  ): Promise<TopicEndOffsets[]> {
    const byLeader = new Map<number, Map<string, number[]>>();
    for (const topic of topics) {
      const m = this.meta.get(topic);
      if (!m) continue;
      for (const [partition, leader] of m.leaderOf) {
        let perTopic = byLeader.get(leader);
        if (!perTopic) byLeader.set(leader, (perTopic = new Map()));
        let ids = perTopic.get(topic);
        if (!ids) perTopic.set(topic, (ids = []));
        ids.push(partition);
      }
    }
    const read = new Map<string, Map<number, number>>();
    const failed = new Set<string>();
    await Promise.all(
      [...byLeader].map(async ([leader, perTopic]) => {
        try {
          const broker = await cluster.findBroker({ nodeId: String(leader) });
          const response = await broker.listOffsets({
            isolationLevel: READ_UNCOMMITTED,
            topics: [...perTopic].map(([topic, ids]) => ({
              topic,
              partitions: ids.map((partition) => ({ partition, timestamp: LATEST_TIMESTAMP })),
            })),
          });
          for (const t of response.responses) {
            let m = read.get(t.topic);
            if (!m) read.set(t.topic, (m = new Map()));
            for (const p of t.partitions) {
              if (p.errorCode === 0) m.set(p.partition, Number(p.offset));
              else {
                failed.add(t.topic);
                this.setTopicError(
                  t.topic,
                  `log-end offset of ${t.topic}/${p.partition}: Kafka error code ${p.errorCode}`,
                );
              }
            }
          }
        } catch (error) {
          if (isKafkaConnectionError(error) && byLeader.size === 1) throw error;
          for (const topic of perTopic.keys()) {
            failed.add(topic);
            this.setTopicError(topic, `log-end offsets of topic '${topic}': ${describeKafkaError(error)}`);
          }
        }
      }),
    );
    // A leader moved (or a partition was added): fresh metadata next tick for those topics.
    for (const topic of failed) this.meta.delete(topic);
    const out: TopicEndOffsets[] = [];
    for (const topic of topics) {
      const offsets = read.get(topic);
      if (!offsets || failed.has(topic)) continue;
      this.setTopicError(topic, undefined);
      const before = this.previous.get(topic);
      let sum = 0;
      let moved = false;
      for (const [p, o] of offsets) {
        sum += o;
        if (before !== undefined && before.get(p) !== o) moved = true;
      }
      if (before !== undefined && before.size !== offsets.size) moved = true;
      this.previous.set(topic, offsets);
      out.push({ clusterKey: this.key, topic, endOffsets: offsets, sum, moved });
    }
    return out;
  }

  private setClusterError(error: string | undefined): void {
    if (error === this.error) return;
    if (error) this.log.warn({ cluster: this.label, err: error }, "end-offset watch: cluster unreadable");
    else if (this.error) this.log.info({ cluster: this.label }, "end-offset watch: cluster readable again");
    this.error = error;
  }

  private setTopicError(topic: string, error: string | undefined): void {
    const was = this.topicErrors.get(topic);
    if (error === was) return;
    if (error) {
      this.topicErrors.set(topic, error);
      this.log.warn({ cluster: this.label, topic, err: error }, "end-offset watch: topic unreadable");
    } else if (was !== undefined) {
      this.topicErrors.delete(topic);
      this.log.info({ cluster: this.label, topic }, "end-offset watch: topic readable again");
    }
  }
}

const DEFAULTS = {
  intervalMs: 1000,
  metadataMaxAgeMs: 60_000,
  clientId: "lagscale-watch",
  connectionTimeoutMs: 3000,
  requestTimeoutMs: 3000,
};

export class EndOffsetWatch {
  private readonly s: Settings;
  private readonly log: Logger;
  private readonly clusters = new Map<string, ClusterWatch>();
  private readonly totals: RequestCounts = {};
  private readonly refused = new Set<string>();
  private source: WatchSource | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<void>>();
  private ticks = 0;

  constructor(options: EndOffsetWatchOptions = {}) {
    const { logger, ...rest } = options;
    const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    this.s = { ...DEFAULTS, ...given } as Settings;
    if (!(this.s.intervalMs > 0))
      throw new Error(`end-offset watch: intervalMs must be > 0 (got ${this.s.intervalMs})`);
    this.log = logger ?? createLogger("end-offset-watch");
  }

  /** Starts ticking for `source`; the first tick comes after one interval. */
  start(source: WatchSource): void {
    this.source = source;
    this.schedule(Date.now());
  }

  /** Stops ticking, waits for a running tick and closes every connection. */
  async stop(): Promise<void> {
    this.source = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([...this.running]);
    for (const c of this.clusters.values()) c.drop();
    this.clusters.clear();
  }

  stats(): WatchStats {
    const requests = addCounts({}, this.totals);
    return {
      ticks: this.ticks,
      requests,
      totalRequests: sumCounts(requests),
      clusters: [...this.clusters.values()].map((c) => ({
        label: c.label,
        connected: c.connected,
        ticks: c.ticks,
        topics: c.topicCount,
        requests: { ...c.counts },
        error: c.error,
      })),
    };
  }

  /** One tick now: every cluster whose previous tick has finished reads its topics. Exposed for tests. */
  async tick(source: WatchSource, now = Date.now()): Promise<WatchTick> {
    this.ticks++;
    const wanted = new Map<string, { connection: KafkaConnection; topics: Set<string> }>();
    for (const w of source.topics()) {
      const topic = w.topic.trim();
      if (topic === "") continue;
      const key = connectionKey(w.cluster);
      let entry = wanted.get(key);
      if (!entry) wanted.set(key, (entry = { connection: w.cluster, topics: new Set() }));
      entry.topics.add(topic);
    }
    for (const [key, c] of this.clusters) {
      if (!wanted.has(key) && !c.busy) {
        c.drop();
        this.clusters.delete(key);
      }
    }
    const results = await Promise.all(
      [...wanted].map(async ([key, { connection, topics }]) => {
        let c = this.clusters.get(key);
        if (!c) {
          const problems = connectionProblems(connection);
          if (problems.length > 0) {
            if (!this.refused.has(key)) {
              this.refused.add(key);
              this.log.warn(
                { cluster: connectionLabel(connection), err: problems.join("; ") },
                "end-offset watch: cannot watch",
              );
            }
            return [];
          }
          c = new ClusterWatch(key, connection, this.s, this.log, this.totals);
          this.clusters.set(key, c);
        }
        if (c.busy) return []; // the previous tick of this cluster is still waiting for a broker
        c.busy = true;
        try {
          return await c.tick([...topics].sort(), now);
        } finally {
          c.busy = false;
        }
      }),
    );
    const tick: WatchTick = { at: now, topics: results.flat() };
    return tick;
  }

  private schedule(from: number): void {
    if (!this.source) return;
    const next = from + this.s.intervalMs;
    this.timer = setTimeout(() => this.fire(next), Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  private fire(at: number): void {
    const source = this.source;
    if (!source) return;
    const run = this.tick(source)
      .then((tick) => {
        if (this.source === source) source.onTick(tick);
      })
      .catch((err: unknown) =>
        this.log.error({ err: describeKafkaError(err) }, "end-offset watch tick failed"),
      );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    // Ticks keep their pace; a slow cluster skips ticks instead of queueing them.
    this.schedule(Math.max(at, Date.now() - this.s.intervalMs));
  }
}
