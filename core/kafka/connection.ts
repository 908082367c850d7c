/**
 * Cluster identity (which triggers share a connection), the kafkajs client options for a connection, and the
 * one way lagscale's Kafka clients (lag reader, end-offset watch, sidecar) open a cluster connection.
 */
import { createHash } from "node:crypto";
import kafkajs, { type KafkaConfig, type SASLOptions } from "kafkajs";
import type { Logger } from "../log.js";
import {
  createInternalCluster,
  type InternalCluster,
  type InternalClusterOptions,
} from "./kafkajs-internals.js";
import type { KafkaConnection } from "./types.js";

/** Host names are case-insensitive; the same list as core/triggers' kafkaClusterIdentity uses. */
function normalizedBrokers(connection: KafkaConnection): string[] {
  return [...new Set(connection.brokers.map((b) => b.trim().toLowerCase()).filter((b) => b !== ""))].sort();
}

/**
 * A stable key for a connection: equal for the same brokers (any order, any case, trimmed, duplicates dropped), the
 * same credentials and the same TLS material. It is a digest, so it can be logged without leaking secrets.
 */
export function connectionKey(connection: KafkaConnection): string {
  const canonical = JSON.stringify({
    brokers: normalizedBrokers(connection),
    sasl: connection.sasl
      ? [connection.sasl.mechanism, connection.sasl.username, connection.sasl.password]
      : undefined,
    tls: connection.tls
      ? [
          connection.tls.ca ?? null,
          connection.tls.cert ?? null,
          connection.tls.key ?? null,
          connection.tls.keyPassword ?? null,
          connection.tls.unsafeSsl === true,
        ]
      : undefined,
  });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 32);
}

/** A short label without secrets, for logs and metrics. */
export function connectionLabel(connection: KafkaConnection): string {
  const parts = [normalizedBrokers(connection).join(",")];
  if (connection.sasl) parts.push(`${connection.sasl.mechanism}:${connection.sasl.username}`);
  if (connection.tls) parts.push("tls");
  return parts.join(" ");
}

/** Problems that make a connection unusable before any network I/O; empty when it is fine. */
export function connectionProblems(connection: KafkaConnection): string[] {
  const problems: string[] = [];
  if (normalizedBrokers(connection).length === 0) problems.push("no bootstrap servers given");
  for (const b of normalizedBrokers(connection)) {
    if (!/^[^\s:]+:\d+$/.test(b) && !/^\[[0-9a-fA-F:.]+\]:\d+$/.test(b)) {
      problems.push(`bootstrap server "${b}" is not host:port`);
    }
  }
  const sasl = connection.sasl;
  if (sasl) {
    if (!["plain", "scram-sha-256", "scram-sha-512"].includes(sasl.mechanism)) {
      problems.push(
        `SASL mechanism "${sasl.mechanism}" is not supported (plain, scram-sha-256, scram-sha-512)`,
      );
    }
    if (sasl.username === "") problems.push("SASL needs a username");
    if (sasl.password === "") problems.push("SASL needs a password");
  }
  const tls = connection.tls;
  if (tls && (tls.cert === undefined) !== (tls.key === undefined)) {
    problems.push("TLS cert and key must be given together");
  }
  return problems;
}

export interface ClientTimeouts {
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  /** kafkajs retries of connection and coordinator lookups inside one round. */
  retries: number;
}

export function kafkajsConfig(connection: KafkaConnection, clientId: string, t: ClientTimeouts): KafkaConfig {
  const config: KafkaConfig = {
    clientId,
    brokers: normalizedBrokers(connection),
    connectionTimeout: t.connectionTimeoutMs,
    authenticationTimeout: t.connectionTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: { retries: t.retries, initialRetryTime: 100, maxRetryTime: 1000 },
  };
  const sasl = connection.sasl;
  if (sasl) {
    config.sasl = {
      mechanism: sasl.mechanism,
      username: sasl.username,
      password: sasl.password,
    } as SASLOptions;
  }
  const tls = connection.tls;
  if (tls) {
    config.ssl = {
      rejectUnauthorized: tls.unsafeSsl !== true,
      ...(tls.ca !== undefined ? { ca: [tls.ca] } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
      ...(tls.keyPassword !== undefined ? { passphrase: tls.keyPassword } : {}),
    };
  }
  return config;
}

export interface ClusterConnectOptions {
  connection: KafkaConnection;
  clientId: string;
  timeouts: ClientTimeouts;
  /** kafkajs's own lines go here at debug: the callers report failed requests in their results. */
  log: Logger;
  /** Names the cluster in those lines. */
  label: string;
  /** Every response or request timeout, by API name (the request counters). */
  onRequest(apiName: string): void;
  /** Tests inject a fake cluster. */
  createCluster?: (options: InternalClusterOptions) => InternalCluster;
}

/**
 * A connected cluster: ApiVersions, SASL, and Metadata for the broker list only (no topics). A failed attempt
 * is disconnected before the error is thrown, so nothing is left half open.
 */
export async function connectInternalCluster(o: ClusterConnectOptions): Promise<InternalCluster> {
  const build = o.createCluster ?? createInternalCluster;
  const cluster = build({
    config: {
      ...kafkajsConfig(o.connection, o.clientId, o.timeouts),
      logLevel: kafkajs.logLevel.ERROR,
      logCreator: () => (entry) =>
        o.log.debug({ cluster: o.label, kafkajs: entry.namespace, ...entry.log }, entry.log.message),
    },
    onNetworkEvent: (_kind, event) => o.onRequest(event.apiName),
  });
  try {
    await cluster.connect();
    await cluster.refreshMetadata();
  } catch (error) {
    void cluster.disconnect().catch(() => undefined);
    throw error;
  }
  return cluster;
}
