/** Setup for the lag reader's integration tests: topics, messages and commits on the stack's broker. */
import kafkajs from "kafkajs";
import type { Admin, Kafka as KafkaClient, Producer } from "kafkajs";
import {
  createInternalCluster,
  type InternalBroker,
  type InternalCluster,
} from "../../core/kafka/kafkajs-internals.js";
import { uniqueName, waitUntilServed } from "../stack/kafka/client.js";
import type { KafkaInfo } from "../stack/types.js";

const { Kafka, logLevel, Partitioners } = kafkajs;

export { uniqueName };

/** A quiet kafkajs client for setting things up on the broker. */
export function setupClient(info: KafkaInfo): KafkaClient {
  return new Kafka({
    clientId: "lagscale-lag-tests",
    brokers: info.bootstrapServers,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.NOTHING,
  });
}

export class KafkaFixture {
  readonly admin: Admin;
  private producer: Producer | undefined;
  private readonly topics: string[] = [];
  private readonly groups: string[] = [];

  private readonly committer: OffsetCommitter;

  constructor(
    private readonly client: KafkaClient,
    info: KafkaInfo,
  ) {
    this.admin = client.admin();
    this.committer = new OffsetCommitter(info.bootstrapServers);
  }

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  /** Creates topics (fresh names) in one request and waits for their leaders. */
  async topic(prefix: string, partitions: number): Promise<string> {
    const [name] = await this.createTopics(prefix, [partitions]);
    return name!;
  }

  async createTopics(prefix: string, partitionCounts: number[]): Promise<string[]> {
    const names = partitionCounts.map(() => uniqueName(prefix));
    const created = await this.admin.createTopics({
      topics: names.map((topic, i) => ({ topic, numPartitions: partitionCounts[i]!, replicationFactor: 1 })),
      waitForLeaders: true,
      timeout: 30_000,
    });
    if (!created) throw new Error(`topics ${names.join(", ")} already exist`);
    this.topics.push(...names);
    for (const [i, name] of names.entries()) await waitUntilServed(this.admin, name, partitionCounts[i]!);
    return names;
  }

  group(prefix: string): string {
    const name = uniqueName(prefix);
    this.groups.push(name);
    return name;
  }

  /** Writes `counts[p]` messages to partition p. */
  async produce(topic: string, counts: number[]): Promise<void> {
    if (!this.producer) {
      this.producer = this.client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await this.producer.connect();
    }
    const messages = counts.flatMap((n, partition) =>
      Array.from({ length: n }, (_, i) => ({ partition, value: `m${partition}-${i}` })),
    );
    if (messages.length > 0) await this.producer.send({ topic, messages, acks: -1 });
  }

  /** Commits offsets for a group with no members, as a consumer would. */
  async commit(group: string, topic: string, offsets: Record<number, number>): Promise<void> {
    await this.committer.commit(group, { [topic]: offsets });
  }

  /** Moves the log start forward, as retention does. */
  async deleteRecords(topic: string, upTo: Record<number, number>): Promise<void> {
    // kafkajs's deleteTopicRecords looks the leaders up in metadata it does not load itself.
    await this.admin.fetchTopicMetadata({ topics: [topic] });
    await this.admin.deleteTopicRecords({
      topic,
      partitions: Object.entries(upTo).map(([partition, offset]) => ({
        partition: Number(partition),
        offset: String(offset),
      })),
    });
  }

  /** Deletes what this fixture created; best effort. */
  async cleanup(): Promise<void> {
    if (this.groups.length > 0) await this.admin.deleteGroups(this.groups).catch(() => undefined);
    if (this.topics.length > 0) await this.admin.deleteTopics({ topics: this.topics }).catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.committer.close();
    await this.admin.disconnect().catch(() => undefined);
  }
}

type CommittingBroker = InternalBroker & {
  offsetCommit(request: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    retentionTime: number;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<unknown>;
};

/**
 * Commits offsets the way a standalone consumer does (generation -1, no member id), in one OffsetCommit per
 * group. kafkajs's admin `setOffsets` joins the group with a consumer to do this, which takes seconds each.
 */
export class OffsetCommitter {
  private cluster: InternalCluster | undefined;

  constructor(private readonly brokers: string[]) {}

  private async connected(): Promise<InternalCluster> {
    if (!this.cluster) {
      const cluster = createInternalCluster({
        config: { clientId: "lagscale-test-commits", brokers: this.brokers, logLevel: logLevel.NOTHING },
        onNetworkEvent: () => undefined,
      });
      await cluster.connect();
      await cluster.refreshMetadata();
      this.cluster = cluster;
    }
    return this.cluster;
  }

  /** `offsets`: topic → partition → offset. */
  async commit(group: string, offsets: Record<string, Record<number, number>>): Promise<void> {
    const cluster = await this.connected();
    const { coordinator } = await cluster.findGroupCoordinatorMetadata({
      groupId: group,
      coordinatorType: 0,
    });
    const broker = (await cluster.findBroker({ nodeId: String(coordinator.nodeId) })) as CommittingBroker;
    await broker.offsetCommit({
      groupId: group,
      groupGenerationId: -1,
      memberId: "",
      retentionTime: -1,
      topics: Object.entries(offsets).map(([topic, parts]) => ({
        topic,
        partitions: Object.entries(parts).map(([p, o]) => ({ partition: Number(p), offset: String(o) })),
      })),
    });
  }

  async close(): Promise<void> {
    await this.cluster?.disconnect().catch(() => undefined);
    this.cluster = undefined;
  }
}
