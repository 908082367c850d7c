/**
 * The container kind: Kafka in a container run through testcontainers, on the host network (every listener binds
 * a free port of 127.0.0.1 directly: no port mapping, no bridge addresses). The image is LAGSCALE_KAFKA_IMAGE,
 * else lagscale.local/kafka:<version> when the engine has it (made by test/stack/containers/ where no registry is
 * reachable), else the official apache/kafka:<version>; both are configured through KAFKA_* variables and keep
 * their tools under /opt/kafka/bin. The container must outlive the process that started it (`stack up`
 * returns), so Ryuk is disabled for it and its id is recorded for destroy. Ports are fixed when the container is
 * created, so that a stop and start keeps the addresses the broker advertises.
 */
import type { KafkaInfo } from "../types.js";
import { newClusterId, SCRAM_USERS } from "./config.js";
import { waitForBroker } from "./client.js";
import { freePorts } from "../process.js";

export interface ContainerHandle {
  containerId: string;
  image: string;
  host: string;
  ports: { plaintext: number; broker: number; controller: number; sasl?: number };
}

const PROBE_TIMEOUT_MS = 5000;
const READY_TIMEOUT_MS = 180_000;

/** Whether a container runtime answers, asked once and quickly. */
export async function containerRuntimeAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
      timer.unref();
    });
    const answered = await Promise.race([getContainerRuntimeClient().then(() => true), timeout]);
    clearTimeout(timer);
    return answered;
  } catch {
    return false;
  }
}

/** The Kafka image made here for `version` (test/stack/containers/kafka-image.ts). */
export const localKafkaImage = (version: string) => `lagscale.local/kafka:${version}`;

/** LAGSCALE_KAFKA_IMAGE, else the image made here when the engine has it, else the official one. */
export async function chooseImage(version: string): Promise<string> {
  const given = process.env.LAGSCALE_KAFKA_IMAGE?.trim();
  if (given) return given;
  const { getContainerRuntimeClient, ImageName } = await import("testcontainers");
  const client = await getContainerRuntimeClient();
  const local = localKafkaImage(version);
  return (await client.image.exists(ImageName.fromString(local))) ? local : `apache/kafka:${version}`;
}

export async function startContainer(o: {
  version: string;
  sasl: boolean;
  progress: (line: string) => void;
}): Promise<KafkaInfo> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  const { GenericContainer, Wait } = await import("testcontainers");
  const image = await chooseImage(o.version);
  // host networking: the broker binds loopback ports of this machine, as the local broker does
  const host = "127.0.0.1";
  const [plaintext, broker, controller, sasl] = await freePorts(4);
  const ports: ContainerHandle["ports"] = { plaintext: plaintext!, broker: broker!, controller: controller! };
  if (o.sasl) ports.sasl = sasl!;

  const listeners = [
    `PLAINTEXT://${host}:${ports.plaintext}`,
    `BROKER://${host}:${ports.broker}`,
    `CONTROLLER://${host}:${ports.controller}`,
  ];
  const advertised = [`PLAINTEXT://${host}:${ports.plaintext}`, `BROKER://${host}:${ports.broker}`];
  const env: Record<string, string> = {
    CLUSTER_ID: newClusterId(),
    KAFKA_NODE_ID: "1",
    KAFKA_PROCESS_ROLES: "broker,controller",
    KAFKA_CONTROLLER_QUORUM_VOTERS: `1@${host}:${ports.controller}`,
    KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
    KAFKA_INTER_BROKER_LISTENER_NAME: "BROKER",
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:
      "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
    KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: "3",
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
    KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: "1",
    KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: "1",
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
    KAFKA_HEAP_OPTS: "-Xms128m -Xmx512m",
  };
  if (ports.sasl !== undefined) {
    listeners.push(`SASL_PLAINTEXT://${host}:${ports.sasl}`);
    advertised.push(`SASL_PLAINTEXT://${host}:${ports.sasl}`);
    const jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;";
    env.KAFKA_SASL_ENABLED_MECHANISMS = "SCRAM-SHA-256,SCRAM-SHA-512";
    // The image maps "." to "_", "_" to "__" and "-" to "___" in KAFKA_* variable names.
    env["KAFKA_LISTENER_NAME_SASL__PLAINTEXT_SCRAM___SHA___256_SASL_JAAS_CONFIG"] = jaas;
    env["KAFKA_LISTENER_NAME_SASL__PLAINTEXT_SCRAM___SHA___512_SASL_JAAS_CONFIG"] = jaas;
  }
  env.KAFKA_LISTENERS = listeners.join(",");
  env.KAFKA_ADVERTISED_LISTENERS = advertised.join(",");

  o.progress(`starting container ${image} (testcontainers, host network, ${host}:${ports.plaintext})`);
  const started = await new GenericContainer(image)
    .withEnvironment(env)
    .withNetworkMode("host")
    // the socket names the stack whose `down` removes what a crashed test left (there is no Ryuk)
    .withLabels({ "lagscale.stack": "kafka", "lagscale.socket": process.env.DOCKER_HOST ?? "" })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(READY_TIMEOUT_MS)
    .start();
  const handle: ContainerHandle = { containerId: started.getId(), image, host, ports };
  const info = toInfo(o.version, handle);
  try {
    await waitForBroker(info.bootstrapServers, READY_TIMEOUT_MS);
    if (o.sasl) {
      for (const u of SCRAM_USERS) {
        const result = await started.exec([
          "/opt/kafka/bin/kafka-configs.sh",
          "--bootstrap-server",
          `${host}:${ports.broker}`,
          "--alter",
          "--entity-type",
          "users",
          "--entity-name",
          u.username,
          "--add-config",
          `${u.mechanism.toUpperCase()}=[password=${u.password}]`,
        ]);
        if (result.exitCode !== 0) {
          throw new Error(
            `creating SCRAM user ${u.username} failed (exit ${result.exitCode}): ${result.output}`,
          );
        }
      }
    }
  } catch (err) {
    await started.stop({ remove: true }).catch(() => undefined);
    throw err;
  }
  return info;
}

function toInfo(version: string, handle: ContainerHandle): KafkaInfo {
  const info: KafkaInfo = {
    kind: "testcontainers",
    version,
    bootstrapServers: [`${handle.host}:${handle.ports.plaintext}`],
    handle: { ...handle },
  };
  if (handle.ports.sasl !== undefined) {
    info.sasl = {
      bootstrapServers: [`${handle.host}:${handle.ports.sasl}`],
      users: SCRAM_USERS.map((u) => ({ ...u })),
    };
  }
  return info;
}

function containerHandle(info: KafkaInfo): ContainerHandle {
  const h = info.handle as Partial<ContainerHandle>;
  if (
    typeof h.containerId !== "string" ||
    typeof h.host !== "string" ||
    typeof h.ports?.plaintext !== "number" ||
    typeof h.ports.broker !== "number"
  ) {
    throw new Error(
      "this KafkaInfo has kind testcontainers but its handle lacks containerId/host/ports " +
        "(from an older version? run `npm run stack -- down`)",
    );
  }
  return h as ContainerHandle;
}

async function dockerContainer(info: KafkaInfo) {
  const { getContainerRuntimeClient } = await import("testcontainers");
  const client = await getContainerRuntimeClient();
  return { client, container: client.container.getById(containerHandle(info).containerId) };
}

export async function containerStatus(info: KafkaInfo): Promise<"running" | "stopped"> {
  try {
    const { client, container } = await dockerContainer(info);
    const inspect = await client.container.inspect(container);
    return inspect.State.Running ? "running" : "stopped";
  } catch {
    return "stopped";
  }
}

export async function stopContainer(info: KafkaInfo): Promise<void> {
  const { client, container } = await dockerContainer(info);
  const inspect = await client.container.inspect(container);
  if (inspect.State.Running) await client.container.stop(container, { timeout: 30 });
}

export async function restartContainer(info: KafkaInfo): Promise<KafkaInfo> {
  const { client, container } = await dockerContainer(info);
  const inspect = await client.container.inspect(container);
  if (inspect.State.Running) await client.container.stop(container, { timeout: 30 });
  await client.container.start(container);
  await waitForBroker(info.bootstrapServers, READY_TIMEOUT_MS);
  return info;
}

export async function destroyContainer(info: KafkaInfo): Promise<void> {
  const { client, container } = await dockerContainer(info);
  try {
    await client.container.stop(container, { timeout: 10 });
  } catch {
    // already stopped
  }
  await client.container.remove(container, { removeVolumes: true });
}
