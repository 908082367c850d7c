/**
 * The batched reader's batching, coalescing and error isolation, against an in-memory stand-in for kafkajs's
 * cluster (the part `createCluster` replaces). The same behaviours against a real broker: test/lag/.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { BatchedLagReader, type BatchedLagReaderOptions, type RoundInfo } from "./batched-reader.js";
import type {
  InternalBroker,
  InternalCluster,
  InternalClusterOptions,
  ListOffsetsTopic,
  OffsetFetchTopic,
} from "./kafkajs-internals.js";
import type { KafkaConnection, LagReadResult } from "./types.js";

class KafkaError extends Error {
  constructor(
    readonly type: string | undefined,
    message: string,
    override readonly name = "KafkaJSProtocolError",
  ) {
    super(message);
  }
}

interface FakePartition {
  leader: number;
  latest: number;
  logStart?: number;
}

/** A Kafka cluster in memory, with switches to make parts of it fail. */
class FakeKafka {
  topics = new Map<string, FakePartition[]>();
  groups = new Map<string, Map<string, Map<number, number>>>();
  coordinatorOf = (_group: string): number => 1;
  nodes = [1, 2];
  /** Every call, for assertions. */
  calls: { api: string; node?: number; detail?: unknown }[] = [];
  builds = 0;
  connectError: Error | undefined;
  /** Makes every request hang forever. */
  hang = false;
  listOffsetsError: (topics: ListOffsetsTopic[]) => Error | undefined = () => undefined;
  offsetFetchError: (group: string) => Error | undefined = () => undefined;

  topic(name: string, partitions: FakePartition[]): this {
    this.topics.set(name, partitions);
    return this;
  }

  commit(group: string, topic: string, offsets: Record<number, number>): this {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map()));
    g.set(topic, new Map(Object.entries(offsets).map(([p, o]) => [Number(p), o])));
    return this;
  }

  count(api: string): number {
    return this.calls.filter((c) => c.api === api).length;
  }

  factory = (options: InternalClusterOptions): InternalCluster => {
    this.builds++;
    const sent = async (api: string, node?: number, detail?: unknown): Promise<void> => {
      if (this.hang) await new Promise(() => undefined);
      this.calls.push({ api, node, detail });
      options.onNetworkEvent("response", { apiName: api });
    };
    const broker = (node: number): InternalBroker => ({
      metadata: async (topics) => {
        await sent("Metadata", node, topics);
        const unknown = topics.find((t) => !this.topics.has(t));
        // kafkajs throws for the whole response when any topic has an error.
        if (unknown !== undefined)
          throw new KafkaError(
            "UNKNOWN_TOPIC_OR_PARTITION",
            "This server does not host this topic-partition",
          );
        return {
          brokers: this.nodes.map((nodeId) => ({ nodeId, host: "fake", port: nodeId })),
          topicMetadata: topics.map((topic) => ({
            topic,
            topicErrorCode: 0,
            partitionMetadata: this.topics
              .get(topic)!
              .map((p, partitionId) => ({ partitionId, leader: p.leader, partitionErrorCode: 0 })),
          })),
        };
      },
      listOffsets: async ({ isolationLevel, topics }) => {
        await sent("ListOffsets", node, { isolationLevel, topics });
        const error = this.listOffsetsError(topics);
        if (error) throw error;
        return {
          responses: topics.map(({ topic, partitions }) => ({
            topic,
            partitions: partitions.map(({ partition, timestamp }) => {
              const p = this.topics.get(topic)![partition]!;
              assert.equal(
                p.leader,
                node,
                `ListOffsets for ${topic}/${partition} sent to ${node}, not its leader`,
              );
              return {
                partition,
                errorCode: 0,
                offset: String(timestamp === -2 ? (p.logStart ?? 0) : p.latest),
              };
            }),
          })),
        };
      },
      offsetFetch: async ({ groupId, topics }: { groupId: string; topics: OffsetFetchTopic[] }) => {
        await sent("OffsetFetch", node, { groupId, topics });
        const error = this.offsetFetchError(groupId);
        if (error) throw error;
        const g = this.groups.get(groupId) ?? new Map<string, Map<number, number>>();
        if (topics.length === 0) {
          return {
            responses: [...g].map(([topic, parts]) => ({
              topic,
              partitions: [...parts].map(([partition, offset]) => ({
                partition,
                offset: String(offset),
                errorCode: 0,
              })),
            })),
          };
        }
        return {
          responses: topics.map(({ topic, partitions }) => ({
            topic,
            partitions: partitions.map(({ partition }) => ({
              partition,
              offset: String(g.get(topic)?.get(partition) ?? -1),
              errorCode: 0,
            })),
          })),
        };
      },
    });
    let connected = false;
    return {
      connect: async () => {
        if (this.connectError) throw this.connectError;
        await sent("ApiVersions");
        connected = true;
      },
      disconnect: async () => {
        connected = false;
      },
      isConnected: () => connected,
      refreshMetadata: async () => sent("Metadata", 1, []),
      getNodeIds: () => this.nodes.map(String),
      findBroker: async ({ nodeId }) => {
        if (!this.nodes.includes(Number(nodeId)))
          throw new KafkaError(undefined, "not found", "KafkaJSBrokerNotFound");
        return broker(Number(nodeId));
      },
      findGroupCoordinatorMetadata: async ({ groupId }) => {
        await sent("GroupCoordinator", 1, groupId);
        return { coordinator: { nodeId: this.coordinatorOf(groupId) } };
      },
      brokerPool: { findConnectedBroker: async () => broker(this.nodes[0]!) },
    };
  };
}

const quiet = pino({ level: "silent" });
const A: KafkaConnection = { brokers: ["a:9092"] };
const B: KafkaConnection = { brokers: ["b:9092"] };

/** A reader whose connections to A and B go to two fake clusters. */
function readerFor(
  clusters: Map<string, FakeKafka>,
  options: BatchedLagReaderOptions = {},
): { reader: BatchedLagReader; rounds: RoundInfo[] } {
  const rounds: RoundInfo[] = [];
  const reader = new BatchedLagReader({
    logger: quiet,
    onRound: (info) => rounds.push(info),
    createCluster: (o) => {
      const fake = clusters.get(o.config.brokers instanceof Array ? o.config.brokers.join(",") : "");
      if (!fake) throw new Error("no fake for these brokers");
      return fake.factory(o);
    },
    ...options,
  });
  return { reader, rounds };
}

function ok(result: LagReadResult) {
  if (!result.ok) assert.fail(`expected a result, got error (${result.kind}): ${result.error}`);
  return result;
}

function twoTopicCluster(): FakeKafka {
  return new FakeKafka()
    .topic("orders", [
      { leader: 1, latest: 10 },
      { leader: 2, latest: 20 },
      { leader: 1, latest: 30 },
    ])
    .topic("payments", [
      { leader: 2, latest: 5, logStart: 2 },
      { leader: 1, latest: 7, logStart: 7 },
    ])
    .commit("g1", "orders", { 0: 4, 1: 20 })
    .commit("g2", "payments", { 1: 6 });
}

test("one round serves every trigger: one ListOffsets per leader, one OffsetFetch per group, one Metadata", async () => {
  const fake = twoTopicCluster();
  const { reader, rounds } = readerFor(new Map([["a:9092", fake]]));
  const results = await Promise.all([
    reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }),
    reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }),
    reader.read({ cluster: A, consumerGroup: "g1", topic: "payments" }),
    reader.read({ cluster: A, consumerGroup: "g2", topic: "payments" }),
    reader.read({ cluster: { brokers: [" a:9092 ", "a:9092"] }, consumerGroup: "g2", topic: "orders" }),
  ]);
  assert.equal(rounds.length, 1);
  assert.equal(rounds[0]!.requests, 5);
  assert.deepEqual(ok(results[0]!).partitions, [
    { topic: "orders", partition: 0, committed: 4, latest: 10 },
    { topic: "orders", partition: 1, committed: 20, latest: 20 },
    { topic: "orders", partition: 2, committed: -1, latest: 30 },
  ]);
  assert.deepEqual(ok(results[0]!), ok(results[1]!));
  assert.deepEqual(
    ok(results[3]!).partitions.map((p) => p.committed),
    [-1, 6],
  );
  // Connect: one ApiVersions and one Metadata (broker list). Round: one Metadata for both topics, one
  // OffsetFetch per group (g1, g2), one ListOffsets per leader (1, 2), one coordinator lookup per group.
  assert.equal(fake.count("Metadata"), 2);
  assert.equal(fake.count("OffsetFetch"), 2);
  assert.equal(fake.count("ListOffsets"), 2);
  assert.equal(fake.count("GroupCoordinator"), 2);
  // The OffsetFetch of g1 covers both topics in one request.
  const g1 = fake.calls.find(
    (c) => c.api === "OffsetFetch" && (c.detail as { groupId: string }).groupId === "g1",
  );
  assert.deepEqual((g1!.detail as { topics: OffsetFetchTopic[] }).topics.map((t) => t.topic).sort(), [
    "orders",
    "payments",
  ]);
  // Reads high watermarks uncommitted, as KEDA (sarama) does.
  for (const c of fake.calls.filter((c) => c.api === "ListOffsets")) {
    assert.equal((c.detail as { isolationLevel: number }).isolationLevel, 0);
  }

  // Next round: metadata and coordinators come from the cache.
  fake.calls = [];
  await Promise.all([
    reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }),
    reader.read({ cluster: A, consumerGroup: "g2", topic: "payments" }),
  ]);
  assert.deepEqual(fake.calls.map((c) => c.api).sort(), [
    "ListOffsets",
    "ListOffsets",
    "OffsetFetch",
    "OffsetFetch",
  ]);
  assert.equal(reader.stats().rounds, 2);
  assert.equal(reader.stats().requests.ListOffsets, 4);
  await reader.close();
});

test("triggers asking the same thing share one answer; a group with many partitions gets one unfiltered OffsetFetch", async () => {
  const big = Array.from({ length: 300 }, (_, i) => ({ leader: 1 + (i % 2), latest: i }));
  const fake = twoTopicCluster().topic("big", big).commit("g3", "big", { 0: 0, 299: 7 });
  const { reader } = readerFor(new Map([["a:9092", fake]]));
  const [a, b, limited] = await Promise.all([
    reader.read({ cluster: A, consumerGroup: "g3", topic: "big" }),
    reader.read({ cluster: A, consumerGroup: "g3", topic: " big " }),
    reader.read({ cluster: A, consumerGroup: "g3", topic: "big", partitionLimitation: [299, 1] }),
  ]);
  assert.equal(a, b);
  const partitions = ok(a!).partitions;
  assert.equal(partitions.length, 300);
  assert.deepEqual(partitions[0], { topic: "big", partition: 0, committed: 0, latest: 0 });
  assert.deepEqual(partitions[1], { topic: "big", partition: 1, committed: -1, latest: 1 });
  assert.deepEqual(partitions[299], { topic: "big", partition: 299, committed: 7, latest: 299 });
  assert.deepEqual(ok(limited!).partitions, [
    { topic: "big", partition: 1, committed: -1, latest: 1 },
    { topic: "big", partition: 299, committed: 7, latest: 299 },
  ]);
  const fetches = fake.calls.filter((c) => c.api === "OffsetFetch");
  assert.equal(fetches.length, 1);
  assert.deepEqual((fetches[0]!.detail as { topics: OffsetFetchTopic[] }).topics, []);
  // Both leaders asked once each, for their own half of the partitions.
  const lists = fake.calls.filter((c) => c.api === "ListOffsets");
  assert.deepEqual(
    lists.map((c) => (c.detail as { topics: ListOffsetsTopic[] }).topics[0]!.partitions.length).sort(),
    [150, 150],
  );
  await reader.close();
});

test("read_committed is passed through when asked for", async () => {
  const fake = twoTopicCluster();
  const { reader } = readerFor(new Map([["a:9092", fake]]), { isolationLevel: "read_committed" });
  ok(await reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }));
  for (const c of fake.calls.filter((c) => c.api === "ListOffsets")) {
    assert.equal((c.detail as { isolationLevel: number }).isolationLevel, 1);
  }
  await reader.close();
});

test("callers arriving during a round join the next one, all together", async () => {
  const fake = twoTopicCluster();
  const { reader, rounds } = readerFor(new Map([["a:9092", fake]]));
  const first = reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" });
  await new Promise((r) => setImmediate(r)); // the first round has started
  const later = [1, 2, 3].map(() => reader.read({ cluster: A, consumerGroup: "g2", topic: "payments" }));
  await Promise.all([first, ...later]);
  assert.deepEqual(
    rounds.map((r) => r.requests),
    [1, 3],
  );
  await reader.close();
});

test("log-start offsets are asked only for partitions with nothing committed, and only when needed", async () => {
  const fake = twoTopicCluster();
  const { reader } = readerFor(new Map([["a:9092", fake]]));
  const [earliest, latest] = await Promise.all([
    reader.read({ cluster: A, consumerGroup: "g2", topic: "payments", needLogStart: true }),
    reader.read({ cluster: A, consumerGroup: "g2", topic: "payments" }),
  ]);
  assert.deepEqual(ok(earliest!).partitions, [
    { topic: "payments", partition: 0, committed: -1, latest: 5, logStart: 2 },
    { topic: "payments", partition: 1, committed: 6, latest: 7 },
  ]);
  assert.deepEqual(ok(latest!).partitions, [
    { topic: "payments", partition: 0, committed: -1, latest: 5 },
    { topic: "payments", partition: 1, committed: 6, latest: 7 },
  ]);
  const asked = fake.calls
    .filter((c) => c.api === "ListOffsets")
    .flatMap((c) => (c.detail as { topics: ListOffsetsTopic[] }).topics.flatMap((t) => t.partitions));
  assert.deepEqual(
    asked.filter((p) => p.timestamp === -2),
    [{ partition: 0, timestamp: -2 }],
  );
  await reader.close();
});

test("without a topic: the group's committed topics, all their partitions, one unfiltered OffsetFetch", async () => {
  const fake = twoTopicCluster().commit("g1", "payments", { 0: 1 });
  const { reader } = readerFor(new Map([["a:9092", fake]]));
  const [all, named, none] = await Promise.all([
    reader.read({ cluster: A, consumerGroup: "g1", partitionLimitation: [0] }),
    reader.read({ cluster: A, consumerGroup: "g1", topic: "orders", partitionLimitation: [2] }),
    reader.read({ cluster: A, consumerGroup: "never-committed" }),
  ]);
  const r = ok(all!);
  assert.deepEqual(r.groupTopics, ["orders", "payments"]);
  assert.deepEqual(
    r.partitions.map((p) => [p.topic, p.partition, p.committed]),
    [
      ["orders", 0, 4],
      ["orders", 1, 20],
      ["orders", 2, -1],
      ["payments", 0, 1],
      ["payments", 1, -1],
    ],
  );
  // The named trigger of the same group is served from the same unfiltered OffsetFetch.
  assert.deepEqual(ok(named!).partitions, [{ topic: "orders", partition: 2, committed: -1, latest: 30 }]);
  assert.equal(fake.calls.filter((c) => c.api === "OffsetFetch").length, 2);
  // D3: no commits, no topic: no partitions and an empty topic list, not "every topic of the cluster".
  assert.deepEqual(ok(none!), { ok: true, topics: [], partitions: [], groupTopics: [] });
  await reader.close();
});

test("an unknown topic fails only its triggers; the others are read in the same round", async () => {
  const fake = twoTopicCluster();
  const { reader } = readerFor(new Map([["a:9092", fake]]));
  const [bad, good, limited] = await Promise.all([
    reader.read({ cluster: A, consumerGroup: "g1", topic: "typo" }),
    reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }),
    reader.read({ cluster: A, consumerGroup: "g1", topic: "payments", partitionLimitation: [7, 8] }),
  ]);
  assert.deepEqual(bad, {
    ok: false,
    kind: "topic",
    error: "topic 'typo' does not exist (unknown topic or partition)",
  });
  assert.equal(ok(good!).partitions.length, 3);
  assert.deepEqual(limited, {
    ok: false,
    kind: "request",
    error: "expected at least one active partition within the topic 'payments'",
  });
  await reader.close();
});

test("a failing ListOffsets is retried per topic after fresh metadata, failing only that topic", async () => {
  const fake = twoTopicCluster();
  fake.listOffsetsError = (topics) =>
    topics.some((t) => t.topic === "payments")
      ? new KafkaError("NOT_LEADER_FOR_PARTITION", "not leader")
      : undefined;
  const { reader } = readerFor(new Map([["a:9092", fake]]));
  const [orders, payments] = await Promise.all([
    reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }),
    reader.read({ cluster: A, consumerGroup: "g2", topic: "payments" }),
  ]);
  assert.equal(ok(orders!).partitions.length, 3);
  assert.equal(payments!.ok, false);
  assert.equal(!payments!.ok && payments!.kind, "offsets");
  assert.match(!payments!.ok ? payments!.error : "", /end offsets of topic 'payments'.*not leader/);
  await reader.close();
});

test("a group whose OffsetFetch fails errors alone, after one retry with a fresh coordinator", async () => {
  const fake = twoTopicCluster();
  fake.offsetFetchError = (group) =>
    group === "g2" ? new KafkaError("NOT_COORDINATOR_FOR_GROUP", "not coordinator") : undefined;
  const { reader } = readerFor(new Map([["a:9092", fake]]));
  const [g1, g2] = await Promise.all([
    reader.read({ cluster: A, consumerGroup: "g1", topic: "payments" }),
    reader.read({ cluster: A, consumerGroup: "g2", topic: "payments" }),
  ]);
  ok(g1!);
  assert.equal(!g2!.ok && g2!.kind, "group");
  assert.equal(fake.calls.filter((c) => c.api === "GroupCoordinator" && c.detail === "g2").length, 2);
  await reader.close();
});

test("a cluster that cannot be reached fails its own triggers only, and is tried again next round", async () => {
  const good = twoTopicCluster();
  const dead = twoTopicCluster();
  dead.connectError = new KafkaError(undefined, "connect ECONNREFUSED", "KafkaJSConnectionError");
  const { reader } = readerFor(
    new Map([
      ["a:9092", good],
      ["b:9092", dead],
    ]),
  );
  const [a, b] = await Promise.all([
    reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }),
    reader.read({ cluster: B, consumerGroup: "g1", topic: "orders" }),
  ]);
  ok(a!);
  assert.equal(!b!.ok && b!.kind, "cluster");
  assert.match(!b!.ok ? b!.error : "", /cannot connect to Kafka \(b:9092\).*ECONNREFUSED/);
  dead.connectError = undefined;
  ok(await reader.read({ cluster: B, consumerGroup: "g1", topic: "orders" }));
  assert.equal(dead.builds, 2);
  await reader.close();
});

test("a round that hangs ends at the round timeout with a cluster error, without holding up another cluster", async () => {
  const good = twoTopicCluster();
  const stuck = twoTopicCluster();
  const { reader } = readerFor(
    new Map([
      ["a:9092", good],
      ["b:9092", stuck],
    ]),
    { roundTimeoutMs: 1000 },
  );
  ok(await reader.read({ cluster: B, consumerGroup: "g1", topic: "orders" }));
  stuck.hang = true;
  const hung = reader.read({ cluster: B, consumerGroup: "g1", topic: "orders" });
  // The other cluster answers while B's round is stuck.
  let hungSettled = false;
  void hung.then(() => (hungSettled = true));
  ok(await reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }));
  assert.equal(hungSettled, false);
  const r = await hung;
  assert.deepEqual(r, { ok: false, kind: "cluster", error: "no answer from Kafka (b:9092) within 1000 ms" });
  // The connection is rebuilt for the next round.
  stuck.hang = false;
  ok(await reader.read({ cluster: B, consumerGroup: "g1", topic: "orders" }));
  assert.equal(stuck.builds, 2);
  await reader.close();
});

test("requests that cannot be served fail before any I/O", async () => {
  const fake = twoTopicCluster();
  const { reader } = readerFor(new Map([["a:9092", fake]]));
  assert.deepEqual(await reader.read({ cluster: { brokers: [] }, consumerGroup: "g" }), {
    ok: false,
    kind: "request",
    error: "no bootstrap servers given",
  });
  assert.deepEqual(await reader.read({ cluster: A, consumerGroup: "  " }), {
    ok: false,
    kind: "request",
    error: "no consumer group given",
  });
  assert.equal(fake.builds, 0);
  await reader.close();
});

test("a connection no trigger used for idleCloseMs is closed; the next read reconnects", async () => {
  const fake = twoTopicCluster();
  const { reader } = readerFor(new Map([["a:9092", fake]]), { idleCloseMs: 60_000 });
  ok(await reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }));
  reader.sweep(Date.now() + 30_000);
  assert.equal(reader.stats().clusters.length, 1);
  reader.sweep(Date.now() + 61_000);
  assert.equal(reader.stats().clusters.length, 0);
  assert.equal(reader.stats().rounds, 1);
  ok(await reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }));
  assert.equal(fake.builds, 2);
  await reader.close();
});

test("requests are counted by API, per cluster and in total", async () => {
  const fake = twoTopicCluster();
  const seen: string[] = [];
  const { reader } = readerFor(new Map([["a:9092", fake]]), { onRequest: (_label, api) => seen.push(api) });
  ok(await reader.read({ cluster: A, consumerGroup: "g1", topic: "orders" }));
  const stats = reader.stats();
  assert.equal(stats.totalRequests, fake.calls.length);
  assert.equal(seen.length, fake.calls.length);
  assert.deepEqual(stats.clusters[0]!.requests, stats.requests);
  assert.equal(stats.clusters[0]!.label, "a:9092");
  await reader.close();
});
