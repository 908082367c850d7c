/**
 * The sidecar's settings, read once from its environment (the injector, or a pod template, sets them).
 *
 * Every problem is collected and reported together, each naming the variable and what would be accepted, so
 * that one look at the pod's log is enough to fix its manifest. Kafka credentials use the names KEDA's
 * TriggerAuthentication parameters map to (sasl, username, password, tls, ca, cert, key, keyPassword,
 * unsafeSsl, oauthTokenEndpointUri, scopes, oauthExtensions, saslTokenProvider, awsRegion), prefixed with
 * KAFKA_; MSK IAM signs with the pod's AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN.
 */
import { isIP } from "node:net";
import type { LevelWithSilent } from "pino";
import { connectionProblems } from "../core/kafka/connection.js";
import type { KafkaConnection, KafkaSasl, KafkaTls, SaslMechanism } from "../core/kafka/types.js";
import type { OffsetResetPolicy } from "../core/lag/index.js";
import { logLevelFromEnv } from "../core/log.js";
import { errorText } from "../core/errors.js";

export interface SidecarConfig {
  readonly pod: { readonly name: string; readonly namespace: string; readonly ip: string };
  readonly scaledObject: string;
  readonly consumerGroup: string;
  /** Only this topic's partitions are reported; absent: every topic assigned to the pod's members. */
  readonly topic: string | undefined;
  /** The trigger's lagThreshold: a report goes out at once when the pod's lag crosses it. */
  readonly lagThreshold: number;
  readonly offsetResetPolicy: OffsetResetPolicy;
  /** Only members whose client id starts with this count as the pod's (several clients from one IP). */
  readonly clientIdPrefix: string | undefined;
  readonly kafka: KafkaConnection;
  readonly reportUrl: URL;
  /** Re-read before every push: the kubelet rotates projected tokens. */
  readonly tokenFile: string;
  readonly reportCaFile: string | undefined;
  /** PEM of the CA to trust for the report URL, given inline (what the injector sets). */
  readonly reportCa: string | undefined;
  /** Read-and-report interval while the pod has lag or its lag changes. */
  readonly fastIntervalMs: number;
  /** Read-and-report interval while the pod is idle. */
  readonly slowIntervalMs: number;
  /** A partition with lag whose committed offset has not moved for this long is stalled. */
  readonly stallWindowMs: number;
  /** The consumption rate is committed-offset progress over this window. */
  readonly rateWindowMs: number;
  /** While idle, read the offsets every fast interval (one OffsetFetch, one ListOffsets per leader). Default off. */
  readonly endOffsetWatch: boolean;
  /** Where the metrics and health servers listen: all addresses, or the pod IP where pods share a network. */
  readonly bindAddress: string;
  /** 0 disables the server. */
  readonly metricsPort: number;
  readonly healthPort: number;
  readonly logLevel: LevelWithSilent;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULTS = {
  tokenFile: "/var/run/secrets/lagscale/token",
  fastIntervalMs: 1_000,
  slowIntervalMs: 10_000,
  stallWindowMs: 30_000,
  rateWindowMs: 10_000,
  metricsPort: 9464,
  healthPort: 9465,
} as const;

/** KEDA's `sasl` values → the reader's mechanism names. */
const SASL: Record<string, SaslMechanism | "none"> = {
  none: "none",
  plaintext: "plain",
  scram_sha256: "scram-sha-256",
  scram_sha512: "scram-sha-512",
};

/** The Kubernetes name rule (DNS subdomain) the report schema applies to pod and ScaledObject names. */
const KUBE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

class Problems {
  readonly list: string[] = [];
  add(message: string): void {
    this.list.push(message);
  }
}

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === "" ? undefined : v;
}

function required(env: Env, name: string, p: Problems, hint: string): string {
  const v = value(env, name);
  if (v === undefined) p.add(`${name} is not set: ${hint}`);
  return v ?? "";
}

function kubeName(env: Env, name: string, p: Problems, hint: string): string {
  const v = required(env, name, p, hint);
  if (v !== "" && (v.length > 253 || !KUBE_NAME.test(v))) {
    p.add(`${name}=${JSON.stringify(v)} is not a Kubernetes object name (lower-case a-z, 0-9, '-', '.')`);
  }
  return v;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number, p: Problems): number {
  const v = value(env, name);
  if (v === undefined) return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    p.add(`${name}=${JSON.stringify(v)} must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return Number(v);
}

function bool(env: Env, name: string, fallback: boolean, p: Problems): boolean {
  const v = value(env, name)?.toLowerCase();
  if (v === undefined) return fallback;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  p.add(`${name}=${JSON.stringify(v)} must be true or false`);
  return fallback;
}

function kafkaConnection(env: Env, p: Problems): KafkaConnection {
  const brokers = required(env, "KAFKA_BOOTSTRAP_SERVERS", p, "give the brokers as host:port[,host:port...]")
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
  const sasl = saslFromEnv(env, p);
  let tls: KafkaTls | undefined;
  const tlsName = (value(env, "KAFKA_TLS") ?? "disable").toLowerCase();
  if (tlsName !== "enable" && tlsName !== "disable") {
    p.add(`KAFKA_TLS=${JSON.stringify(tlsName)} must be enable or disable`);
  } else if (tlsName === "enable") {
    tls = {
      ca: value(env, "KAFKA_CA"),
      cert: value(env, "KAFKA_CERT"),
      key: value(env, "KAFKA_KEY"),
      keyPassword: value(env, "KAFKA_KEY_PASSWORD"),
      unsafeSsl: bool(env, "KAFKA_UNSAFE_SSL", false, p),
    };
  }
  const connection: KafkaConnection = { brokers, sasl, tls };
  if (brokers.length > 0) {
    for (const problem of connectionProblems(connection)) {
      p.add(`Kafka connection (KAFKA_BOOTSTRAP_SERVERS, KAFKA_SASL, KAFKA_TLS...): ${problem}`);
    }
  }
  return connection;
}

function saslFromEnv(env: Env, p: Problems): KafkaSasl | undefined {
  const saslName = (value(env, "KAFKA_SASL") ?? "none").toLowerCase();
  const username = value(env, "KAFKA_USERNAME") ?? "";
  const password = value(env, "KAFKA_PASSWORD") ?? "";
  if (saslName === "oauthbearer") {
    const provider = (value(env, "KAFKA_SASL_TOKEN_PROVIDER") ?? "bearer").toLowerCase();
    if (provider === "aws_msk_iam") {
      const region = required(
        env,
        "KAFKA_AWS_REGION",
        p,
        "give the MSK cluster's AWS region (KEDA's awsRegion)",
      );
      return { mechanism: "aws-msk-iam", region, credentials: { kind: "environment" } };
    }
    if (provider !== "bearer") {
      p.add(`KAFKA_SASL_TOKEN_PROVIDER=${JSON.stringify(provider)} must be bearer or aws_msk_iam`);
      return undefined;
    }
    const extensions: Record<string, string> = {};
    for (const kv of (value(env, "KAFKA_OAUTH_EXTENSIONS") ?? "").split(",").filter((x) => x.trim() !== "")) {
      const [k, v, ...rest] = kv.split("=");
      if (v === undefined || rest.length > 0)
        p.add(`KAFKA_OAUTH_EXTENSIONS: ${JSON.stringify(kv)} is not key=value`);
      else extensions[k!.trim()] = v.trim();
    }
    return {
      mechanism: "oauthbearer",
      tokenEndpoint: required(env, "KAFKA_OAUTH_TOKEN_ENDPOINT_URI", p, "give KEDA's oauthTokenEndpointUri"),
      clientId: username,
      clientSecret: password,
      scopes: (value(env, "KAFKA_SCOPES") ?? "")
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== ""),
      extensions,
    };
  }
  const mechanism = SASL[saslName];
  if (mechanism === undefined) {
    p.add(
      `KAFKA_SASL=${JSON.stringify(saslName)} is not supported: use none, plaintext, scram_sha256, scram_sha512 or oauthbearer`,
    );
    return undefined;
  }
  return mechanism === "none" ? undefined : { mechanism, username, password };
}

function reportUrl(env: Env, p: Problems): URL {
  const fallback = new URL("https://invalid.invalid/");
  const raw = required(
    env,
    "LAGSCALE_REPORT_URL",
    p,
    "give the controller's report endpoint, e.g. https://lagscale-reports.lagscale.svc:9444/v1/reports",
  );
  if (raw === "") return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    p.add(`LAGSCALE_REPORT_URL=${JSON.stringify(raw)} is not a URL`);
    return fallback;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    p.add(`LAGSCALE_REPORT_URL must be http:// or https://, not ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "") {
    p.add("LAGSCALE_REPORT_URL must not carry credentials: the sidecar sends its ServiceAccount token");
  }
  return url;
}

/** The sidecar's configuration, or an Error listing every problem found (one per line). */
export function parseSidecarConfig(env: Env): SidecarConfig {
  const p = new Problems();
  const podHint = "set it from the downward API (fieldRef)";
  const name = kubeName(env, "POD_NAME", p, `${podHint} metadata.name`);
  const namespace = kubeName(env, "POD_NAMESPACE", p, `${podHint} metadata.namespace`);
  const ip = required(env, "POD_IP", p, `${podHint} status.podIP`);
  if (ip !== "" && isIP(ip) === 0) p.add(`POD_IP=${JSON.stringify(ip)} is not an IP address`);
  const scaledObject = kubeName(
    env,
    "LAGSCALE_SCALED_OBJECT",
    p,
    "name the ScaledObject that scales this pod",
  );
  const consumerGroup = required(env, "LAGSCALE_CONSUMER_GROUP", p, "give the trigger's consumerGroup");
  if (consumerGroup.length > 255) p.add("LAGSCALE_CONSUMER_GROUP is longer than 255 characters");
  const topic = value(env, "LAGSCALE_TOPIC");
  if (topic !== undefined && !/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) {
    p.add(`LAGSCALE_TOPIC=${JSON.stringify(topic)} is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)`);
  }
  const lagThresholdRaw = required(env, "LAGSCALE_LAG_THRESHOLD", p, "give the trigger's lagThreshold");
  const lagThreshold = Number(lagThresholdRaw);
  if (lagThresholdRaw !== "" && (!/^[0-9]+$/.test(lagThresholdRaw) || lagThreshold <= 0)) {
    p.add(`LAGSCALE_LAG_THRESHOLD=${JSON.stringify(lagThresholdRaw)} must be a whole number above 0`);
  }
  const policy = (value(env, "LAGSCALE_OFFSET_RESET_POLICY") ?? "latest").toLowerCase();
  if (policy !== "latest" && policy !== "earliest") {
    p.add(`LAGSCALE_OFFSET_RESET_POLICY=${JSON.stringify(policy)} must be latest or earliest`);
  }
  const kafka = kafkaConnection(env, p);
  const url = reportUrl(env, p);
  const fastIntervalMs = integer(env, "LAGSCALE_FAST_INTERVAL_MS", DEFAULTS.fastIntervalMs, 100, 600_000, p);
  const slowIntervalMs = integer(env, "LAGSCALE_SLOW_INTERVAL_MS", DEFAULTS.slowIntervalMs, 100, 600_000, p);
  if (slowIntervalMs < fastIntervalMs) {
    p.add(
      `LAGSCALE_SLOW_INTERVAL_MS (${slowIntervalMs}) must not be below LAGSCALE_FAST_INTERVAL_MS (${fastIntervalMs})`,
    );
  }
  const stallWindowMs = integer(
    env,
    "LAGSCALE_STALL_WINDOW_MS",
    DEFAULTS.stallWindowMs,
    1_000,
    86_400_000,
    p,
  );
  const rateWindowMs = integer(env, "LAGSCALE_RATE_WINDOW_MS", DEFAULTS.rateWindowMs, 1_000, 3_600_000, p);
  const metricsPort = integer(env, "LAGSCALE_METRICS_PORT", DEFAULTS.metricsPort, 0, 65535, p);
  const healthPort = integer(env, "LAGSCALE_HEALTH_PORT", DEFAULTS.healthPort, 0, 65535, p);
  if (metricsPort !== 0 && metricsPort === healthPort) {
    p.add(
      `LAGSCALE_METRICS_PORT and LAGSCALE_HEALTH_PORT are both ${metricsPort}: give them different ports`,
    );
  }
  const endOffsetWatch = bool(env, "LAGSCALE_END_OFFSET_WATCH", false, p);
  const reportCa = value(env, "LAGSCALE_REPORT_CA");
  if (reportCa !== undefined && !reportCa.includes("-----BEGIN CERTIFICATE-----")) {
    p.add("LAGSCALE_REPORT_CA must hold PEM certificates (-----BEGIN CERTIFICATE-----)");
  }
  if (reportCa !== undefined && value(env, "LAGSCALE_REPORT_CA_FILE") !== undefined) {
    p.add("give LAGSCALE_REPORT_CA or LAGSCALE_REPORT_CA_FILE, not both");
  }
  const bindAddress = value(env, "LAGSCALE_BIND_ADDRESS") ?? "0.0.0.0";
  if (isIP(bindAddress) === 0) {
    p.add(
      `LAGSCALE_BIND_ADDRESS=${JSON.stringify(bindAddress.slice(0, 64))} is not an IP address (0.0.0.0, ::, or the pod IP)`,
    );
  }
  let logLevel: LevelWithSilent = "info";
  try {
    logLevel = logLevelFromEnv({ LOG_LEVEL: env.LOG_LEVEL });
  } catch (err) {
    p.add(errorText(err));
  }
  if (p.list.length > 0) {
    throw new Error(`the sidecar's environment is not usable:\n- ${p.list.join("\n- ")}`);
  }
  return {
    pod: { name, namespace, ip },
    scaledObject,
    consumerGroup,
    topic,
    lagThreshold,
    offsetResetPolicy: policy as OffsetResetPolicy,
    clientIdPrefix: value(env, "LAGSCALE_CLIENT_ID_PREFIX"),
    kafka,
    reportUrl: url,
    tokenFile: value(env, "LAGSCALE_TOKEN_FILE") ?? DEFAULTS.tokenFile,
    reportCaFile: value(env, "LAGSCALE_REPORT_CA_FILE"),
    reportCa,
    fastIntervalMs,
    slowIntervalMs,
    stallWindowMs,
    rateWindowMs,
    endOffsetWatch,
    bindAddress,
    metricsPort,
    healthPort,
    logLevel,
  };
}
