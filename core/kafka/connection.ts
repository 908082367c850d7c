/**
 * Cluster identity (which triggers share a connection), the kafkajs client options for a connection, and the
 * one way lagscale's Kafka clients (lag reader, end-offset watch, sidecar) open a cluster connection.
 *
 * Credentials are taken as given at each connect: when a Secret changes, the connection's key changes with it,
 * so the readers open a new connection with the new material and drop the old one (no restart). OAuth tokens
 * are kept per key (oauthbearer.ts) and MSK IAM tokens are signed at each authentication (msk-iam.ts).
 */
import { createHash } from "node:crypto";
import kafkajs, { type KafkaConfig, type SASLOptions } from "kafkajs";
import type { Logger } from "../log.js";
import {
  createInternalCluster,
  type InternalCluster,
  type InternalClusterOptions,
} from "./kafkajs-internals.js";
import { mskIamToken, regionProblem, resolveAwsCredentials } from "./msk-iam.js";
import { TokenSources } from "./oauthbearer.js";
import { extensionProblems, oauthBearerMechanism } from "./sasl-oauthbearer.js";
import type { KafkaConnection, KafkaSasl } from "./types.js";

/** Host names are case-insensitive; the same list as core/triggers' kafkaClusterIdentity uses. */
function normalizedBrokers(connection: KafkaConnection): string[] {
  return [...new Set(connection.brokers.map((b) => b.trim().toLowerCase()).filter((b) => b !== ""))].sort();
}

/**
 * A stable key for a connection: equal for the same brokers (any order, any case, trimmed, duplicates dropped), the
 * same credentials and the same TLS material. It is a digest, so it can be logged without leaking secrets.
 */
export function connectionKey(connection: KafkaConnection): string {
  let key = connectionKeys.get(connection);
  if (key === undefined) connectionKeys.set(connection, (key = computeConnectionKey(connection)));
  return key;
}

/** Connection objects are reused from read to read (parsed once per version of their object). */
const connectionKeys = new WeakMap<KafkaConnection, string>();

function computeConnectionKey(connection: KafkaConnection): string {
  const canonical = JSON.stringify({
    brokers: normalizedBrokers(connection),
    sasl: connection.sasl ? saslIdentity(connection.sasl) : undefined,
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

/** Every field of the SASL settings, in a fixed order (secrets only ever enter the digest). */
function saslIdentity(sasl: KafkaSasl): unknown[] {
  switch (sasl.mechanism) {
    case "oauthbearer":
      return [
        sasl.mechanism,
        sasl.tokenEndpoint,
        sasl.clientId,
        sasl.clientSecret,
        [...sasl.scopes],
        Object.entries(sasl.extensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ];
    case "aws-msk-iam": {
      const c = sasl.credentials;
      return [
        sasl.mechanism,
        sasl.region,
        c.kind === "static" ? [c.accessKeyId, c.secretAccessKey, c.sessionToken ?? null] : c.kind,
      ];
    }
    default:
      return [sasl.mechanism, sasl.username, sasl.password];
  }
}

/** Who authenticates, without secrets: the SASL user, the OAuth client id, or the AWS access key id. */
function saslPrincipal(sasl: KafkaSasl): string {
  switch (sasl.mechanism) {
    case "oauthbearer":
      return sasl.clientId;
    case "aws-msk-iam":
      return sasl.credentials.kind === "static" ? sasl.credentials.accessKeyId : "environment";
    default:
      return sasl.username;
  }
}

/** A short label without secrets, for logs and metrics. */
export function connectionLabel(connection: KafkaConnection): string {
  const parts = [normalizedBrokers(connection).join(",")];
  if (connection.sasl) parts.push(`${connection.sasl.mechanism}:${saslPrincipal(connection.sasl)}`);
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
  if (connection.sasl) problems.push(...saslProblems(connection.sasl));
  if (connection.sasl?.mechanism === "aws-msk-iam" && !connection.tls) {
    problems.push("MSK IAM needs TLS (tls: enable), as MSK serves IAM on TLS listeners only");
  }
  const tls = connection.tls;
  if (tls && (tls.cert === undefined) !== (tls.key === undefined)) {
    problems.push("TLS cert and key must be given together");
  }
  return problems;
}

function saslProblems(sasl: KafkaSasl): string[] {
  const problems: string[] = [];
  switch (sasl.mechanism) {
    case "plain":
    case "scram-sha-256":
    case "scram-sha-512":
      if (sasl.username === "") problems.push("SASL needs a username");
      if (sasl.password === "") problems.push("SASL needs a password");
      return problems;
    case "oauthbearer": {
      let url: URL | undefined;
      try {
        url = new URL(sasl.tokenEndpoint);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
        problems.push(`oauthTokenEndpointUri ${JSON.stringify(sasl.tokenEndpoint)} is not an http(s) URL`);
      }
      if (sasl.clientId === "") problems.push("SASL OAUTHBEARER needs a username (the OAuth client id)");
      if (sasl.clientSecret === "")
        problems.push("SASL OAUTHBEARER needs a password (the OAuth client secret)");
      problems.push(...extensionProblems(sasl.extensions));
      return problems;
    }
    case "aws-msk-iam": {
      const region = regionProblem(sasl.region);
      if (region) problems.push(region);
      return problems;
    }
    default: {
      const unknown = sasl as { mechanism: string };
      return [
        `SASL mechanism "${unknown.mechanism}" is not supported (plain, scram-sha-256, scram-sha-512, oauthbearer, aws-msk-iam)`,
      ];
    }
  }
}

/** OAuth tokens by connection key: reconnects of one connection reuse a live token. */
const oauthTokens = new TokenSources();

/** kafkajs's `sasl` option for one connection; a fresh object each time (kafkajs caches on it). */
function kafkajsSasl(connection: KafkaConnection, sasl: KafkaSasl): KafkaConfig["sasl"] {
  switch (sasl.mechanism) {
    case "oauthbearer": {
      const source = oauthTokens.get(connectionKey(connection), sasl);
      return oauthBearerMechanism({
        token: () => source.token(),
        onRejected: () => source.invalidate(),
        describe: `OAuth token from ${sasl.tokenEndpoint}`,
      });
    }
    case "aws-msk-iam":
      return oauthBearerMechanism({
        token: async () => {
          const c = resolveAwsCredentials(sasl.credentials);
          if (!c.ok) throw new Error(c.error);
          return { value: await mskIamToken(sasl.region, c.credentials) };
        },
        describe: `MSK IAM token (${sasl.region})`,
      });
    default:
      return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
  }
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
  if (connection.sasl) config.sasl = kafkajsSasl(connection, connection.sasl);
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
  if (o.connection.tls?.unsafeSsl === true) {
    o.log.warn(
      { cluster: o.label },
      "unsafeSsl: connecting without verifying the brokers' TLS certificates (give `ca` instead)",
    );
  }
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
    const hint = error instanceof Error ? tlsHint(error.message, o.connection.tls) : undefined;
    if (hint && error instanceof Error) error.message = `${error.message.trim()} (${hint})`;
    throw error;
  }
  return cluster;
}

/** What a failed handshake says (OpenSSL's or Node's words), and what a person should check. */
const TLS_HINTS: [RegExp, string | ((tls: KafkaConnection["tls"]) => string | undefined)][] = [
  [
    /unable to verify the first certificate|self[- ]signed certificate|unable to get local issuer certificate/i,
    "the brokers' certificate is not signed by the CA given in `ca` (or a system root when none is given): check `ca`",
  ],
  [/certificate has expired/i, "the brokers' certificate has expired"],
  [
    /does not match certificate's altnames/i,
    "the bootstrap server's host name is not among the names in the brokers' certificate",
  ],
  [
    /alert (certificate unknown|bad certificate|certificate expired|unknown ca|certificate required)|alert number (42|45|46|48|116)\b/i,
    (tls) =>
      tls?.cert === undefined
        ? "the broker wants a client certificate: give `cert` and `key`"
        : "the broker refused the client certificate: it is expired, or not signed by a CA the broker trusts; check `cert` and `key`",
  ],
  [
    /bad decrypt|unable to load private key|bad password/i,
    "the key could not be read: check `key` and `keyPassword`",
  ],
  [
    /wrong version number|packet length too long|disconnected before secure TLS connection/i,
    "is the listener plaintext? `tls: enable` speaks TLS",
  ],
  [
    /^Closed connection$|: Closed connection$/,
    (tls) => (tls ? undefined : "if the listener is TLS, set `tls: enable`"),
  ],
];

/** A hint for a failed connection of `connection`, or undefined when the message is not about TLS. */
export function tlsHint(message: string, tls: KafkaConnection["tls"]): string | undefined {
  for (const [re, hint] of TLS_HINTS) {
    if (re.test(message)) return typeof hint === "string" ? hint : hint(tls);
  }
  return undefined;
}
