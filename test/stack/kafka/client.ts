/** kafkajs helpers for the stack, tests and benchmarks: a quiet client, explicit topics, readiness. */
import { Kafka, logLevel, type Admin, type KafkaConfig, type SASLOptions } from "kafkajs";
import type { KafkaInfo } from "../types.js";

const LEVELS: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** kafkajs logs nothing unless LAGSCALE_KAFKAJS_LOG is error|warn|info|debug (then to stderr, one line each). */
function configuredLogLevel(): logLevel {
  const raw = process.env.LAGSCALE_KAFKAJS_LOG?.trim().toLowerCase();
  if (!raw) return logLevel.NOTHING;
  const level = LEVELS[raw];
  if (level === undefined) {
    throw new Error(`LAGSCALE_KAFKAJS_LOG="${raw}" is not one of ${Object.keys(LEVELS).join(", ")}`);
  }
  return level;
}

export interface ClientOptions {
  /** Connect to the SASL_PLAINTEXT listener with these credentials instead of PLAINTEXT. */
  sasl?: ScramOptions;
  /** Extra kafkajs settings (retry, timeouts). */
  config?: Omit<Partial<KafkaConfig>, "brokers" | "clientId" | "sasl" | "ssl">;
}

function freshScram(o: ScramOptions): SASLOptions {
  const { username, password } = o;
  return o.mechanism === "scram-sha-256"
    ? { mechanism: "scram-sha-256", username, password }
    : { mechanism: "scram-sha-512", username, password };
}

/** A kafkajs client for the broker described by `info`, with a quiet logger. */
export function kafkaClient(info: KafkaInfo, clientId: string, options: ClientOptions = {}): Kafka {
  let brokers = info.bootstrapServers;
  if (options.sasl) {
    if (!info.sasl) {
      throw new Error(
        `the Kafka broker (${info.kind}, ${info.bootstrapServers.join(",")}) has no SASL listener: ` +
          "start it with startKafka({ sasl: true })",
      );
    }
    brokers = info.sasl.bootstrapServers;
  }
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: configuredLogLevel(),
    logCreator:
      () =>
      ({ namespace, level, log }) => {
        const { message, ...rest } = log;
        process.stderr.write(
          `kafkajs ${logLevel[level] ?? level} [${namespace}] ${message} ${JSON.stringify(rest)}\n`,
        );
      },
    // A fresh object on purpose: kafkajs caches the authenticator, bound to the password, on the sasl object it is
    // given (`sasl.authenticationProvider`), so a spread copy of a used object would keep authenticating with the
    // old password.
    ...(options.sasl ? { sasl: freshScram(options.sasl) } : {}),
    ...options.config,
  });
}

export interface ScramOptions {
  mechanism: "scram-sha-256" | "scram-sha-512";
  username: string;
  password: string;
}

/** SASL options for the first stack user of `mechanism`. */
export function scramOptions(info: KafkaInfo, mechanism: ScramOptions["mechanism"]): ScramOptions {
  const user = info.sasl?.users.find((u) => u.mechanism === mechanism);
  if (!user) throw new Error(`the Kafka broker has no ${mechanism} user (was it started with sasl: true?)`);
  return { mechanism, username: user.username, password: user.password };
}

/**
 * Creates a topic and waits until every partition's leader serves it. Fails (instead of passing silently) when the
 * topic already exists, because tests rely on starting from an empty topic.
 */
export async function createTopic(admin: Admin, name: string, partitions: number): Promise<void> {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`createTopic(${name}): partitions must be a positive integer, got ${partitions}`);
  }
  const created = await admin.createTopics({
    topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }],
    waitForLeaders: true,
    timeout: 30_000,
  });
  if (!created) throw new Error(`createTopic(${name}): the topic already exists`);
  await waitUntilServed(admin, name, partitions);
}

/**
 * Waits until every partition of a new topic is served. The metadata may name a leader before that broker
 * serves the partition; a produce in that window gets NOT_LEADER_OR_FOLLOWER (or UNKNOWN_TOPIC_OR_PARTITION)
 * for some partitions, and kafkajs then resends the whole batch, duplicating what the other partitions had
 * already written. ListOffsets goes to each leader, so once it answers for every partition, produces do too.
 */
export async function waitUntilServed(admin: Admin, name: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const offsets = await admin.fetchTopicOffsets(name);
      if (offsets.length === partitions) return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`createTopic(${name}): partitions not served within 30 s: ${String(err)}`, {
          cause: err,
        });
      }
    }
    if (Date.now() > deadline)
      throw new Error(`createTopic(${name}): not all ${partitions} partitions served`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A topic or group name no earlier run used: `<prefix>-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Waits until the broker answers a metadata request (`describeCluster`) and its group coordinator has loaded
 * (`listGroups`), polling with a fresh short-lived admin
 * client. `alive` lets the caller fail fast when the process it started has died.
 */
export async function waitForBroker(
  brokers: string[],
  timeoutMs: number,
  alive: () => boolean | Promise<boolean> = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!(await alive())) throw new Error("the broker process exited before it became ready");
    const kafka = new Kafka({
      clientId: "lagscale-stack-probe",
      brokers,
      connectionTimeout: 1000,
      requestTimeout: 5000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) {
        // After a restart the group coordinator reloads __consumer_offsets for a while and answers
        // COORDINATOR_LOAD_IN_PROGRESS; ListGroups fails until every group partition is loaded.
        await admin.listGroups();
        return;
      }
      lastError = new Error("the cluster has no controller yet");
    } catch (err) {
      lastError = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(
    `Kafka at ${brokers.join(",")} did not answer describeCluster within ${Math.round(timeoutMs / 1000)} s: ` +
      String(lastError instanceof Error ? lastError.message : lastError),
  );
}

/** `promise`, or a rejection with `message()` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
