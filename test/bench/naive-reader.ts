/**
 * The reader the bench compares against: what KEDA's kafka scaler does, in kafkajs. One client per trigger,
 * built when the trigger is first read and kept across rounds (KEDA keeps a scaler's client until the scaler
 * is rebuilt); per read, the topic's offsets and the group's committed offsets, asked at the same time.
 */
import kafkajs from "kafkajs";
import type { Admin } from "kafkajs";
import { Limiter } from "../../core/kafka/limiter.js";
import type { LagReadResult, LagRequest, PartitionOffsets, RequestCounts } from "../../core/kafka/types.js";

const { Kafka, logLevel } = kafkajs;

export class NaiveLagReader {
  private readonly admins = new Map<string, Promise<Admin>>();
  readonly requests: RequestCounts = {};
  /** Connection attempts at once, so that building 1,000 clients does not look like an attack. */
  private readonly connecting = new Limiter(100);

  get clients(): number {
    return this.admins.size;
  }

  private admin(triggerId: string, request: LagRequest): Promise<Admin> {
    let admin = this.admins.get(triggerId);
    if (!admin) {
      admin = this.connecting.run(async () => {
        const client = new Kafka({
          clientId: `naive-${triggerId}`,
          brokers: [...request.cluster.brokers],
          connectionTimeout: 3000,
          requestTimeout: 30_000,
          logLevel: logLevel.NOTHING,
        });
        const a = client.admin();
        a.on(a.events.REQUEST, (event) => {
          const api = event.payload.apiName;
          this.requests[api] = (this.requests[api] ?? 0) + 1;
        });
        await a.connect();
        return a;
      });
      this.admins.set(triggerId, admin);
    }
    return admin;
  }

  async read(triggerId: string, request: LagRequest): Promise<LagReadResult> {
    const topic = request.topic;
    if (topic === undefined) return { ok: false, kind: "request", error: "the naive reader needs a topic" };
    try {
      const admin = await this.admin(triggerId, request);
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId: request.consumerGroup, topics: [topic] }),
      ]);
      const committedOf = new Map(
        committed.flatMap((t) => t.partitions.map((p) => [p.partition, Number(p.offset)] as const)),
      );
      const partitions: PartitionOffsets[] = ends
        .map((p) => ({
          topic,
          partition: p.partition,
          committed: committedOf.get(p.partition),
          latest: Number(p.high),
        }))
        .sort((a, b) => a.partition - b.partition);
      return { ok: true, topics: [topic], partitions };
    } catch (error) {
      return { ok: false, kind: "cluster", error: error instanceof Error ? error.message : String(error) };
    }
  }

  async close(): Promise<void> {
    const admins = [...this.admins.values()];
    this.admins.clear();
    await Promise.all(
      admins.map(async (a) => (await a.catch(() => undefined))?.disconnect().catch(() => undefined)),
    );
  }
}
