/**
 * The lag reader's contract, shared by the controller, the sidecar, tests and fakes.
 *
 * A reader takes one request per kafka trigger and answers with the offsets of the partitions that trigger
 * evaluates, in the shape the lag math (core/lag) takes as input. It does I/O only: no lag arithmetic, no
 * memory between evaluations.
 */
import type { PartitionOffsets } from "../lag/partition-lag.js";

/** SASL mechanisms with a username and password (KEDA's `plaintext`, `scram_sha256`, `scram_sha512`). */
export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

export interface KafkaSaslPassword {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

/**
 * KEDA's `sasl: oauthbearer` with the default token provider: an OAuth 2 client-credentials grant against
 * `tokenEndpoint` (the `username` and `password` parameters are the client id and secret), the token sent
 * with SASL OAUTHBEARER together with `extensions`.
 */
export interface KafkaSaslOAuthBearer {
  readonly mechanism: "oauthbearer";
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly extensions: Readonly<Record<string, string>>;
}

/** Where MSK IAM takes its AWS credentials: given (a Secret, via the trigger) or lagscale's own environment. */
export type AwsCredentialSource =
  | {
      readonly kind: "static";
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly sessionToken?: string | undefined;
    }
  | { readonly kind: "environment" };

/** KEDA's `saslTokenProvider: aws_msk_iam`: SASL OAUTHBEARER with a SigV4-presigned `kafka-cluster:Connect`. */
export interface KafkaSaslMskIam {
  readonly mechanism: "aws-msk-iam";
  readonly region: string;
  readonly credentials: AwsCredentialSource;
}

export type KafkaSasl = KafkaSaslPassword | KafkaSaslOAuthBearer | KafkaSaslMskIam;

export interface KafkaTls {
  /** PEM certificate authority; absent means the system roots. */
  readonly ca?: string | undefined;
  /** PEM client certificate and key, given together. */
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly keyPassword?: string | undefined;
  /** KEDA's `unsafeSsl`: skip certificate verification. */
  readonly unsafeSsl?: boolean | undefined;
}

/**
 * How to reach one Kafka cluster. Two triggers whose connections are equal (same brokers in any order, same
 * credentials, same TLS material) share one admin connection.
 */
export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly sasl?: KafkaSasl | undefined;
  /** TLS on (with these settings) when present. */
  readonly tls?: KafkaTls | undefined;
}

/** What one kafka trigger needs read in one evaluation. */
export interface LagRequest {
  readonly cluster: KafkaConnection;
  readonly consumerGroup: string;
  /** Absent or blank: every topic the group has committed offsets for (KEDA's "no topic" mode). */
  readonly topic?: string | undefined;
  /** Partition ids to read; absent means all. Ignored without a topic, as in KEDA. */
  readonly partitionLimitation?: readonly number[] | undefined;
  /**
   * Read log-start offsets too (the `earliest` policy). They are asked only for partitions where the group
   * has nothing committed, the only place the lag math uses them.
   */
  readonly needLogStart?: boolean | undefined;
}

/** Offsets of one partition: the reader fills in exactly what the lag math takes. */
export type { PartitionOffsets };

/** Where an error came from, so that callers can tell a dead cluster from a typo in a topic name. */
export type LagReadErrorKind =
  /** The cluster could not be reached or authenticated against, or the round ran out of time. */
  | "cluster"
  /** The topic does not exist or its metadata is unusable. */
  | "topic"
  /** The group's coordinator or its committed offsets could not be read. */
  | "group"
  /** The end offsets of some partition could not be read. */
  | "offsets"
  /** The request itself cannot be served (unsupported credentials, bad partition limitation...). */
  | "request";

export type LagReadResult =
  | {
      readonly ok: true;
      /** Topics evaluated, sorted. Without a topic: the group's committed topics. */
      readonly topics: readonly string[];
      /** Partitions evaluated, sorted by topic then partition. */
      readonly partitions: readonly PartitionOffsets[];
      /**
       * Without a topic only: the topics the group has committed offsets for. Empty when the group has
       * committed nothing (D3 in KEDA-DIFFERENCES.md: lag 0, inactive).
       */
      readonly groupTopics?: readonly string[] | undefined;
    }
  | { readonly ok: false; readonly kind: LagReadErrorKind; readonly error: string };

/** Kafka requests sent, by API name (kafkajs's names: ListOffsets, OffsetFetch, Metadata, ...). */
export type RequestCounts = Record<string, number>;

export interface ClusterStats {
  /** A short, secret-free label: the brokers and the SASL user, if any. */
  readonly label: string;
  readonly connected: boolean;
  readonly rounds: number;
  readonly requests: RequestCounts;
  /** Cached topic metadata entries. */
  readonly cachedTopics: number;
}

export interface ReaderStats {
  /** Every Kafka request sent, all clusters, by API. */
  readonly requests: RequestCounts;
  /** Sum of `requests`. */
  readonly totalRequests: number;
  readonly rounds: number;
  readonly clusters: readonly ClusterStats[];
}

export interface LagReader {
  /**
   * Reads one trigger's offsets. Requests arriving together (in the same tick, or while the cluster's
   * previous round is in flight) are served by one round. Never rejects: errors come back as results and
   * concern this request only. `trigger` names the trigger asking (`namespace/name#index`): the shared
   * reader ignores it, the per-trigger one (KEDA's way, for comparison) keys its clients by it.
   */
  read(request: LagRequest, trigger?: string): Promise<LagReadResult>;
  stats(): ReaderStats;
  /** Closes every connection; later reads reconnect. */
  close(): Promise<void>;
}

export function sumCounts(counts: RequestCounts): number {
  let total = 0;
  for (const v of Object.values(counts)) total += v;
  return total;
}

export function addCounts(into: RequestCounts, from: RequestCounts): RequestCounts {
  for (const [api, n] of Object.entries(from)) into[api] = (into[api] ?? 0) + n;
  return into;
}
