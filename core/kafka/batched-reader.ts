/**
 * The batched lag reader: one admin connection per Kafka cluster identity, shared by every trigger on that
 * cluster, and one round of requests per evaluation for all of them. This module routes each read to its
 * cluster's client (cluster-client.ts: the queue and the round), keeps the totals, and closes idle
 * connections. The design, the request counts and what is cached are in docs/lag-reader.md.
 */
import type { Logger } from "pino";
import { createLogger } from "../log.js";
import { ClusterClient, type ClusterClientOptions } from "./cluster-client.js";
import { connectionKey, connectionProblems } from "./connection.js";
import type { InternalCluster, InternalClusterOptions } from "./kafkajs-internals.js";
import { fail } from "./round-plan.js";
import {
  addCounts,
  sumCounts,
  type ClusterStats,
  type LagReader,
  type LagReadResult,
  type LagRequest,
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
  /**
   * Committed offsets of many groups in one OffsetFetch per coordinator, and their coordinators in one
   * FindCoordinator, where the brokers support it (Kafka >= 3.0); one request per group otherwise. Default true.
   */
  multiGroupRequests?: boolean;
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
  multiGroupRequests: true,
};

export class BatchedLagReader implements LagReader {
  private readonly clients = new Map<string, ClusterClient>();
  private readonly options: ClusterClientOptions;
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
    const key = connectionKey(request.cluster);
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
