/**
 * The one place that reaches into kafkajs below its public API.
 *
 * Why: kafkajs's admin client asks for offsets one topic at a time (`fetchTopicOffsets` sends a latest and an
 * earliest ListOffsets per topic) and looks up the group coordinator on every `fetchOffsets`. The batched lag
 * reader needs one ListOffsets per partition leader covering every topic of the round, with the isolation
 * level of its choice, one OffsetFetch per group to a cached coordinator, and Metadata requests whose
 * per-topic errors it can isolate. kafkajs's cluster and broker objects already do the connection handling,
 * API version negotiation, SASL and TLS; what they lack is a public handle. `Kafka` keeps its cluster factory
 * under a private symbol; this module finds it, builds a cluster with our options, and types the few methods
 * the reader calls.
 *
 * These are internals of kafkajs 2.2.4 exactly (package.json pins it with no range). `assertKafkajsVersion`
 * refuses any other version, so an upgrade fails loudly here instead of misbehaving in the reader; whoever
 * upgrades re-reads `src/index.js` (the factory), `src/cluster/index.js` and `src/broker/index.js`.
 */
import { createRequire } from "node:module";
import kafkajs from "kafkajs";
import type { KafkaConfig } from "kafkajs";

const { Kafka } = kafkajs;

export const SUPPORTED_KAFKAJS_VERSION = "2.2.4";

const CLUSTER_FACTORY_SYMBOL = "private:Kafka:createCluster";

/** ListOffsets timestamps with special meaning. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

/** ListOffsets isolation levels (Kafka protocol). */
export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

export function installedKafkajsVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg = require("kafkajs/package.json") as { version?: unknown };
  return String(pkg.version);
}

export function assertKafkajsVersion(version = installedKafkajsVersion()): void {
  if (version !== SUPPORTED_KAFKAJS_VERSION) {
    throw new Error(
      `kafkajs ${version} is installed, but core/kafka/kafkajs-internals.ts was written against kafkajs ` +
        `${SUPPORTED_KAFKAJS_VERSION}'s internal cluster and broker objects; check them and update this module`,
    );
  }
}

export interface TopicMetadataEntry {
  topic: string;
  topicErrorCode: number;
  partitionMetadata: { partitionId: number; leader: number; partitionErrorCode: number }[];
}

export interface MetadataResponse {
  brokers: { nodeId: number; host: string; port: number }[];
  topicMetadata: TopicMetadataEntry[];
}

export interface ListOffsetsTopic {
  topic: string;
  partitions: { partition: number; timestamp: number }[];
}

export interface ListOffsetsResponse {
  responses: { topic: string; partitions: { partition: number; errorCode: number; offset: string }[] }[];
}

export interface OffsetFetchTopic {
  topic: string;
  partitions: { partition: number }[];
}

export interface OffsetFetchResponse {
  responses: { topic: string; partitions: { partition: number; offset: string; errorCode: number }[] }[];
  errorCode?: number;
}

/** The methods of kafkajs's internal Broker the reader uses. */
export interface InternalBroker {
  metadata(topics: string[]): Promise<MetadataResponse>;
  listOffsets(request: { isolationLevel: number; topics: ListOffsetsTopic[] }): Promise<ListOffsetsResponse>;
  offsetFetch(request: { groupId: string; topics: OffsetFetchTopic[] }): Promise<OffsetFetchResponse>;
}

/** The methods of kafkajs's internal Cluster the reader uses. */
export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  /** With no target topics (the reader never adds any) this asks for the broker list only. */
  refreshMetadata(): Promise<void>;
  getNodeIds(): string[];
  findBroker(options: { nodeId: string }): Promise<InternalBroker>;
  findGroupCoordinatorMetadata(options: {
    groupId: string;
    coordinatorType: number;
  }): Promise<{ coordinator: { nodeId: number } }>;
  brokerPool: { findConnectedBroker(): Promise<InternalBroker> };
}

/** A network event from kafkajs's request queue: one per response received, or per request timed out. */
export interface NetworkEvent {
  apiName: string;
  broker?: string;
}

export interface InternalClusterOptions {
  config: KafkaConfig;
  /** Called for every response kafkajs receives (`network.request`) and every request timeout. */
  onNetworkEvent(kind: "response" | "timeout", event: NetworkEvent): void;
}

type ClusterFactory = (options: {
  metadataMaxAge: number;
  allowAutoTopicCreation: boolean;
  maxInFlightRequests: number | null;
  instrumentationEmitter: { emit(eventName: string, payload: unknown): void };
}) => unknown;

/** A kafkajs cluster built from public client options, minus the admin client's one-topic-at-a-time API. */
export function createInternalCluster(options: InternalClusterOptions): InternalCluster {
  assertKafkajsVersion();
  const client = new Kafka(options.config);
  const symbol = Object.getOwnPropertySymbols(client).find((s) => s.description === CLUSTER_FACTORY_SYMBOL);
  const factory = symbol === undefined ? undefined : (client as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== "function") {
    throw new Error(`kafkajs internals changed: no cluster factory under "${CLUSTER_FACTORY_SYMBOL}"`);
  }
  // kafkajs's request queue only calls `emit(eventName, payload)` on the emitter it is given.
  const instrumentationEmitter = {
    emit(eventName: string, payload: unknown): void {
      const event = payload as Partial<NetworkEvent> | undefined;
      const apiName = typeof event?.apiName === "string" ? event.apiName : "Unknown";
      if (eventName === "network.request")
        options.onNetworkEvent("response", { apiName, broker: event?.broker });
      else if (eventName === "network.request_timeout")
        options.onNetworkEvent("timeout", { apiName, broker: event?.broker });
    },
  };
  const cluster = (factory as ClusterFactory).call(client, {
    // The reader keeps its own topic metadata; the cluster's own cache holds only the broker list.
    metadataMaxAge: 300_000,
    allowAutoTopicCreation: false,
    maxInFlightRequests: null,
    instrumentationEmitter,
  }) as InternalCluster;
  for (const method of [
    "connect",
    "disconnect",
    "refreshMetadata",
    "findBroker",
    "findGroupCoordinatorMetadata",
  ]) {
    if (typeof (cluster as unknown as Record<string, unknown>)[method] !== "function") {
      throw new Error(`kafkajs internals changed: the cluster has no ${method}()`);
    }
  }
  return cluster;
}

/** The Kafka error type name (e.g. UNKNOWN_TOPIC_OR_PARTITION) of an error thrown by kafkajs, if any. */
export function kafkaErrorType(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "type" in error) {
    const type = (error as { type?: unknown }).type;
    if (typeof type === "string") return type;
  }
  return undefined;
}

/** kafkajs's error class name (KafkaJSConnectionError, KafkaJSProtocolError, ...). */
export function kafkaErrorName(error: unknown): string | undefined {
  if (error instanceof Error) return error.name;
  return undefined;
}

/** An error's message with its Kafka error type when the message does not say it already. */
export function describeKafkaError(error: unknown): string {
  if (error instanceof Error) {
    const type = kafkaErrorType(error);
    return type && !error.message.includes(type) ? `${error.message} (${type})` : error.message;
  }
  return String(error);
}

/** Errors that mean the connection (or the login on it) is unusable: drop it and connect again next time. */
export function isKafkaConnectionError(error: unknown): boolean {
  const name = kafkaErrorName(error) ?? "";
  return (
    name.startsWith("KafkaJSConnection") ||
    name === "KafkaJSRequestTimeoutError" ||
    name === "KafkaJSSASLAuthenticationError" ||
    name === "KafkaJSNumberOfRetriesExceeded" ||
    name === "KafkaJSBrokerNotFound" ||
    name === "KafkaJSLockTimeout"
  );
}
