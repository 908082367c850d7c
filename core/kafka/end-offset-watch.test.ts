/**
 * The end-offset watch against a fake kafkajs cluster (no broker: these tests count requests per leader and
 * inject failures; test/controller/scaledobject-early.test.ts runs the watch on the real broker).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { EndOffsetWatch, type WatchedTopic, type WatchSource } from "./end-offset-watch.js";
import type {
  InternalBroker,
  InternalCluster,
  InternalClusterOptions,
  ListOffsetsTopic,
} from "./kafkajs-internals.js";
import type { KafkaConnection } from "./types.js";

const silent = pino({ level: "silent" });

class KafkaError extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
    this.name = "KafkaJSProtocolError";
  }
}

/** A fake cluster: topics with partitions, each led by a broker; end offsets set by the test. */
class FakeKafka {
  /** topic → partition → leader */
  leaders = new Map<string, Map<number, number>>();
  /** topic → partition → end offset */
  ends = new Map<string, Map<number, number>>();
  calls: { api: string; broker: number; topics: string[] }[] = [];
  failListOffsetsOn = new Set<number>();
  /** While set, ListOffsets waits for it (a broker that does not answer). */
  stall: Promise<void> | undefined;
  unreachable = false;

  addTopic(topic: string, leaders: number[]): void {
    this.leaders.set(topic, new Map(leaders.map((l, p) => [p, l])));
    this.ends.set(topic, new Map(leaders.map((_l, p) => [p, 0])));
  }

  produce(topic: string, partition: number, n: number): void {
    const m = this.ends.get(topic)!;
    m.set(partition, m.get(partition)! + n);
  }

  count(api: string): number {
    return this.calls.filter((c) => c.api === api).length;
  }

  create = (options: InternalClusterOptions): InternalCluster => {
    const emit = (api: string, broker: number, topics: string[]) => {
      this.calls.push({ api, broker, topics });
      options.onNetworkEvent("response", { apiName: api, broker: String(broker) });
    };
    const broker = (id: number): InternalBroker => ({
      metadata: (topics: string[]) => {
        emit("Metadata", id, topics);
        const missing = topics.find((t) => !this.leaders.has(t));
        if (missing) return Promise.reject(new KafkaError("unknown topic", "UNKNOWN_TOPIC_OR_PARTITION"));
        return Promise.resolve({
          brokers: [],
          topicMetadata: topics.map((topic) => ({
            topic,
            topicErrorCode: 0,
            partitionMetadata: [...this.leaders.get(topic)!].map(([partitionId, leader]) => ({
              partitionId,
              leader,
              partitionErrorCode: 0,
            })),
          })),
        });
      },
      listOffsets: (request: { topics: ListOffsetsTopic[] }) => {
        emit(
          "ListOffsets",
          id,
          request.topics.map((t) => t.topic),
        );
        if (this.stall) {
          const stall = this.stall;
          return stall.then(() => ({ responses: [] }));
        }
        if (this.failListOffsetsOn.has(id))
          return Promise.reject(new KafkaError("not leader", "NOT_LEADER_FOR_PARTITION"));
        return Promise.resolve({
          responses: request.topics.map((t) => ({
            topic: t.topic,
            partitions: t.partitions.map((p) => ({
              partition: p.partition,
              errorCode: this.leaders.get(t.topic)?.get(p.partition) === id ? 0 : 6,
              offset: String(this.ends.get(t.topic)?.get(p.partition) ?? -1),
            })),
          })),
        });
      },
      offsetFetch: () => Promise.reject(new Error("not used")),
    });
    return {
      connect: () => {
        if (this.unreachable) {
          const e = new Error("connection refused");
          e.name = "KafkaJSConnectionError";
          return Promise.reject(e);
        }
        return Promise.resolve();
      },
      disconnect: () => Promise.resolve(),
      isConnected: () => true,
      refreshMetadata: () => Promise.resolve(),
      getNodeIds: () => ["1", "2", "3"],
      findBroker: ({ nodeId }) => Promise.resolve(broker(Number(nodeId))),
      findGroupCoordinatorMetadata: () => Promise.reject(new Error("not used")),
      brokerPool: { findConnectedBroker: () => Promise.resolve(broker(1)) },
    };
  };
}

const clusterA: KafkaConnection = { brokers: ["a:9092"] };
const clusterB: KafkaConnection = { brokers: ["b:9092"] };

function source(topics: WatchedTopic[]): WatchSource {
  return { topics: () => topics, onTick: () => undefined };
}

test("end-offset watch: one ListOffsets per leader broker for all topics, metadata once", async () => {
  const fake = new FakeKafka();
  fake.addTopic("orders", [1, 2, 1, 2]);
  fake.addTopic("payments", [1, 2]);
  fake.addTopic("audit", [3]);
  const watch = new EndOffsetWatch({ createCluster: fake.create, logger: silent });
  const src = source([
    { cluster: clusterA, topic: "orders" },
    { cluster: clusterA, topic: "payments" },
    { cluster: clusterA, topic: "audit" },
    { cluster: { brokers: ["A:9092"] }, topic: "orders" }, // the same cluster, spelt differently
  ]);
  const first = await watch.tick(src, 1000);
  assert.equal(fake.count("Metadata"), 1, "one Metadata request for the three topics");
  assert.equal(fake.count("ListOffsets"), 3, "one ListOffsets per leader (brokers 1, 2, 3)");
  assert.deepEqual(
    first.topics.map((t) => [t.topic, t.sum, t.moved]),
    [
      ["audit", 0, false],
      ["orders", 0, false],
      ["payments", 0, false],
    ],
  );
  fake.produce("orders", 0, 5);
  fake.produce("orders", 3, 2);
  const second = await watch.tick(src, 2000);
  assert.equal(fake.count("Metadata"), 1, "leaders are cached");
  assert.equal(fake.count("ListOffsets"), 6);
  const orders = second.topics.find((t) => t.topic === "orders")!;
  assert.equal(orders.sum, 7);
  assert.equal(orders.moved, true);
  assert.deepEqual(
    [...orders.endOffsets],
    [
      [0, 5],
      [2, 0],
      [1, 0],
      [3, 2],
    ],
  );
  assert.equal(second.topics.find((t) => t.topic === "payments")!.moved, false);
  const stats = watch.stats();
  assert.equal(stats.ticks, 2);
  assert.equal(stats.requests.ListOffsets, 6);
  assert.equal(stats.totalRequests, 7);
  assert.equal(stats.clusters.length, 1);
  await watch.stop();
});

test("end-offset watch: metadata again after its max age, and when a leader moved", async () => {
  const fake = new FakeKafka();
  fake.addTopic("orders", [1, 2]);
  const watch = new EndOffsetWatch({ createCluster: fake.create, logger: silent, metadataMaxAgeMs: 10_000 });
  const src = source([{ cluster: clusterA, topic: "orders" }]);
  await watch.tick(src, 0);
  await watch.tick(src, 5_000);
  assert.equal(fake.count("Metadata"), 1);
  await watch.tick(src, 10_000);
  assert.equal(fake.count("Metadata"), 2, "refreshed at the max age");
  // Partition 1 moves to broker 1: broker 2 answers with an error code for it.
  fake.leaders.get("orders")!.set(1, 1);
  const moved = await watch.tick(src, 11_000);
  assert.equal(moved.topics.length, 0, "a topic with a partition unread is not reported");
  const after = await watch.tick(src, 12_000);
  assert.equal(fake.count("Metadata"), 3, "the leader change asked for fresh metadata");
  assert.equal(after.topics.length, 1);
  assert.equal(fake.calls.filter((c) => c.api === "ListOffsets").at(-1)!.broker, 1);
  await watch.stop();
});

test("end-offset watch: errors stay within their cluster and topic", async () => {
  const good = new FakeKafka();
  good.addTopic("orders", [1]);
  const bad = new FakeKafka();
  bad.unreachable = true;
  const warnings: string[] = [];
  const logger = pino(
    { level: "warn" },
    {
      write: (line: string) => {
        warnings.push(JSON.parse(line).msg as string);
      },
    },
  );
  const watch = new EndOffsetWatch({
    logger,
    createCluster: (o) =>
      JSON.stringify(o.config.brokers).includes("a:9092") ? good.create(o) : bad.create(o),
  });
  const src = source([
    { cluster: clusterA, topic: "orders" },
    { cluster: clusterA, topic: "missing" },
    { cluster: clusterB, topic: "orders" },
  ]);
  for (let i = 0; i < 3; i++) {
    const tick = await watch.tick(src, i * 1000);
    assert.deepEqual(
      tick.topics.map((t) => `${t.clusterKey === tick.topics[0]!.clusterKey ? "A" : "B"}/${t.topic}`),
      ["A/orders"],
    );
  }
  assert.deepEqual(
    warnings.sort(),
    ["end-offset watch: cluster unreadable", "end-offset watch: topic unreadable"],
    "each error logged once, not once per tick",
  );
  // The unknown topic is asked alone, and again only after a while, not every tick.
  assert.equal(good.calls.filter((c) => c.api === "Metadata" && c.topics.includes("missing")).length, 2);
  const stats = watch.stats();
  assert.match(stats.clusters.find((c) => c.label.startsWith("b:"))?.error ?? "", /connection refused/);
  await watch.stop();
});

test("end-offset watch: a cluster still waiting for a broker skips ticks; other clusters go on", async () => {
  const slow = new FakeKafka();
  slow.addTopic("orders", [1]);
  const fast = new FakeKafka();
  fast.addTopic("orders", [1]);
  let release: () => void = () => undefined;
  slow.stall = new Promise<void>((r) => {
    release = r;
  });
  const watch = new EndOffsetWatch({
    logger: silent,
    createCluster: (o) =>
      JSON.stringify(o.config.brokers).includes("a:9092") ? slow.create(o) : fast.create(o),
  });
  const src = source([
    { cluster: clusterA, topic: "orders" },
    { cluster: clusterB, topic: "orders" },
  ]);
  const first = watch.tick(src, 0); // clusterA hangs in this tick
  await new Promise((r) => setTimeout(r, 10));
  fast.produce("orders", 0, 3);
  const second = await watch.tick(src, 1000);
  assert.equal(slow.count("ListOffsets"), 1, "no second request to the cluster that has not answered");
  assert.equal(fast.count("ListOffsets"), 2);
  assert.deepEqual(
    second.topics.map((t) => t.sum),
    [3],
  );
  release();
  await first;
  await watch.tick(src, 2000);
  assert.equal(slow.count("ListOffsets"), 2, "ticks again once it answered");
  await watch.stop();
});

test("end-offset watch: ticks on its interval, hands each tick to the source, stops cleanly", async () => {
  const fake = new FakeKafka();
  fake.addTopic("orders", [1]);
  const watch = new EndOffsetWatch({ createCluster: fake.create, logger: silent, intervalMs: 20 });
  const sums: number[] = [];
  // The watch's timer does not keep the process alive (the controller's servers do); this one does.
  const keepAlive = setTimeout(() => assert.fail("no three ticks within 5 s"), 5000);
  await new Promise<void>((resolve) => {
    watch.start({
      topics: () => [{ cluster: clusterA, topic: "orders" }],
      onTick: (tick) => {
        sums.push(tick.topics[0]?.sum ?? -1);
        fake.produce("orders", 0, 1);
        if (sums.length === 3) resolve();
      },
    });
  });
  clearTimeout(keepAlive);
  await watch.stop();
  const after = fake.count("ListOffsets");
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(fake.count("ListOffsets"), after, "no tick after stop");
  assert.deepEqual(sums.slice(0, 3), [0, 1, 2]);
  assert.throws(() => new EndOffsetWatch({ intervalMs: 0 }), /intervalMs must be > 0/);
});
