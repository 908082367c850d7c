/**
 * Kafka for tests, benchmarks and the demo, behind one small interface. Which broker:
 *
 *   1. KAFKA_BOOTSTRAP_SERVERS set           → that cluster ("external"; nothing is started or stopped)
 *   2. a container runtime answers           → a container through testcontainers ("testcontainers")
 *   3. otherwise                             → a real KRaft broker from Maven Central's jars ("local")
 *
 * LAGSCALE_KAFKA_KIND=local|testcontainers forces 2 or 3. LAGSCALE_KAFKA_VERSION (or the `version` option)
 * picks another Kafka release than the pinned one. Everything needed to stop, restart or destroy the broker
 * from another process is in the returned KafkaInfo's `handle`.
 */
import type { KafkaInfo } from "../types.js";
import { PINNED_KAFKA_VERSION, validateVersion } from "./config.js";
import { waitForBroker } from "./client.js";
import {
  containerRuntimeAnswers,
  containerStatus,
  destroyContainer,
  restartContainer,
  startContainer,
  stopContainer,
} from "./container.js";
import { destroyLocal, localStatus, restartLocal, startLocal, stopLocal } from "./local.js";

export { PINNED_KAFKA_VERSION, OTHER_KAFKA_VERSION, SCRAM_USERS, PLAIN_USERS } from "./config.js";
export { createTopic, kafkaClient, scramOptions, uniqueName, waitForBroker, withTimeout } from "./client.js";
export { resolveKafka } from "./local.js";

export interface StartKafkaOptions {
  /** Folder for this broker's config, data and logs (local kind). */
  stateDir: string;
  /** Folder for the Maven-resolved jars, shared by all clones on the machine. */
  cacheDir: string;
  progress?: (line: string) => void;
  /** Also a SASL_PLAINTEXT listener with SCRAM-SHA-256 and SCRAM-SHA-512 users. Default: true. */
  sasl?: boolean;
  /**
   * Also TLS, mTLS and SASL_SSL (PLAIN, SCRAM, OAUTHBEARER) listeners, with certificates made once and cached in
   * the state folder (local kind only; info.secured says whether the broker has them). Default: true.
   */
  secured?: boolean;
  /** Kafka release; default LAGSCALE_KAFKA_VERSION, else the pinned version. */
  version?: string;
  /**
   * Start this kind of broker, skipping the choice (KAFKA_BOOTSTRAP_SERVERS and the runtime probe): fault tests
   * that need a private broker of their own. Default: LAGSCALE_KAFKA_KIND, else choose.
   */
  kind?: "local" | "testcontainers";
}

/** Parses KAFKA_BOOTSTRAP_SERVERS ("host:port,host:port"), with an error a person can act on. */
export function parseBootstrapServers(raw: string): string[] {
  const servers = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (servers.length === 0) throw new Error("KAFKA_BOOTSTRAP_SERVERS is set but empty");
  for (const s of servers) {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:\s/]+):(\d{1,5})$/.exec(s);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new Error(
        `KAFKA_BOOTSTRAP_SERVERS: "${s}" is not host:port (expected e.g. localhost:9092,broker-2:9092, ` +
          "without a scheme such as PLAINTEXT://)",
      );
    }
  }
  return servers;
}

function chosenKind(): "local" | "testcontainers" | undefined {
  const raw = process.env.LAGSCALE_KAFKA_KIND?.trim();
  if (!raw) return undefined;
  if (raw === "local" || raw === "testcontainers") return raw;
  throw new Error(`LAGSCALE_KAFKA_KIND="${raw}" must be "local" or "testcontainers" (or unset to choose)`);
}

export async function startKafka(options: StartKafkaOptions): Promise<KafkaInfo> {
  const progress = options.progress ?? (() => undefined);
  const sasl = options.sasl ?? true;
  const secured = options.secured ?? true;
  const version = options.version
    ? validateVersion(options.version, "startKafka({ version })")
    : process.env.LAGSCALE_KAFKA_VERSION?.trim()
      ? validateVersion(process.env.LAGSCALE_KAFKA_VERSION, "LAGSCALE_KAFKA_VERSION")
      : PINNED_KAFKA_VERSION;

  const forced = options.kind ?? chosenKind();
  const external = process.env.KAFKA_BOOTSTRAP_SERVERS?.trim();
  if (external && forced === undefined) {
    const bootstrapServers = parseBootstrapServers(external);
    progress(`using the Kafka cluster in KAFKA_BOOTSTRAP_SERVERS (${bootstrapServers.join(",")})`);
    await waitForBroker(bootstrapServers, 30_000);
    // Its version is whatever that cluster runs; "external" says so.
    return { kind: "external", version: "external", bootstrapServers, handle: {} };
  }

  if (forced === "testcontainers" || (forced === undefined && (await containerRuntimeAnswers()))) {
    return startContainer({ version, sasl, progress });
  }
  return startLocal({
    stateDir: options.stateDir,
    cacheDir: options.cacheDir,
    version,
    sasl,
    secured,
    progress,
  });
}

function refuseExternal(info: KafkaInfo, what: string): never {
  throw new Error(
    `cannot ${what} the Kafka cluster from KAFKA_BOOTSTRAP_SERVERS (${info.bootstrapServers.join(",")}): ` +
      "lagscale did not start it; fault tests need a broker started with startKafka",
  );
}

/** Takes the broker down; its data stays, so restartKafka brings the same broker back. */
export async function stopKafka(info: KafkaInfo): Promise<void> {
  switch (info.kind) {
    case "external":
      return refuseExternal(info, "stop");
    case "testcontainers":
      return stopContainer(info);
    case "local":
      return stopLocal(info);
  }
}

/** Starts the same broker again (same ports, same data) and waits until it answers. Stops it first if up. */
export async function restartKafka(info: KafkaInfo): Promise<KafkaInfo> {
  switch (info.kind) {
    case "external":
      return refuseExternal(info, "restart");
    case "testcontainers":
      return restartContainer(info);
    case "local":
      return restartLocal(info);
  }
}

/** Takes the broker down and removes its data. Nothing to do for an external cluster. */
export async function destroyKafka(info: KafkaInfo): Promise<void> {
  switch (info.kind) {
    case "external":
      return;
    case "testcontainers":
      return destroyContainer(info);
    case "local":
      return destroyLocal(info);
  }
}

export async function kafkaStatus(info: KafkaInfo): Promise<"running" | "stopped"> {
  switch (info.kind) {
    case "external":
      try {
        await waitForBroker(info.bootstrapServers, 5000);
        return "running";
      } catch {
        return "stopped";
      }
    case "testcontainers":
      return containerStatus(info);
    case "local":
      return localStatus(info);
  }
}
