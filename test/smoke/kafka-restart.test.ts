/**
 * Smoke test: a broker can be stopped and started again (same ports, same data) and a consumer group resumes
 * from its committed offsets, consuming exactly the messages produced after its last commit. Runs on a private
 * broker of its own (same kind and version as the stack's), so that the shared one is never disturbed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Partitioners, type Kafka } from "kafkajs";
import {
  PINNED_KAFKA_VERSION,
  createTopic,
  destroyKafka,
  kafkaClient,
  kafkaStatus,
  restartKafka,
  startKafka,
  stopKafka,
  uniqueName,
  waitForBroker,
  withTimeout,
} from "../stack/kafka/index.js";
import { cacheDir } from "../stack/paths.js";
import type { KafkaInfo } from "../stack/types.js";
import { loadStack } from "../support/stack.js";

const PARTITIONS = 3;

async function produce(kafka: Kafka, topic: string, from: number, count: number): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `m${from + i}` })),
  });
  await producer.disconnect();
}

/**
 * Consumes with `groupId` until `count` distinct messages arrived, then waits `quietMs` for any extra, commits,
 * leaves. Returns the distinct values: Kafka delivers at least once, so a rebalance on a loaded machine may hand
 * a message over twice; what must never happen is a message from before the group's committed offset.
 */
async function consume(kafka: Kafka, topic: string, groupId: string, count: number, quietMs: number) {
  const values = new Set<string>();
  let reached!: () => void;
  const done = new Promise<void>((r) => (reached = r));
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.add(message.value?.toString() ?? "");
        if (values.size === count) reached();
      },
    });
    await withTimeout(done, 60_000, () => `consumed ${values.size} of ${count} messages in 60 s`);
    await new Promise((r) => setTimeout(r, quietMs));
  } finally {
    await consumer.disconnect();
  }
  return [...values];
}

test("a stopped and restarted broker keeps its data; the consumer group resumes where it committed", async (t) => {
  const shared = loadStack().kafka;
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-kafka-restart-"));
  let last = Date.now();
  const phase = (name: string) => {
    t.diagnostic(`${name}: ${((Date.now() - last) / 1000).toFixed(1)} s`);
    last = Date.now();
  };
  let info: KafkaInfo = await startKafka({
    stateDir: dir,
    cacheDir: cacheDir(),
    sasl: false,
    kind: shared.kind === "testcontainers" ? "testcontainers" : "local",
    version: shared.kind === "external" ? PINNED_KAFKA_VERSION : shared.version,
  });
  t.after(async () => {
    await destroyKafka(info);
    rmSync(dir, { recursive: true, force: true });
  });
  assert.notDeepEqual(info.bootstrapServers, shared.bootstrapServers, "a private broker, not the stack's");
  phase("start");

  const topic = uniqueName("smoke-restart");
  const groupId = uniqueName("smoke-restart-group");
  const before = info.bootstrapServers;
  {
    const kafka = kafkaClient(info, "smoke-restart-1");
    const admin = kafka.admin();
    await admin.connect();
    await createTopic(admin, topic, PARTITIONS);
    await produce(kafka, topic, 0, 60);
    const ends = await admin.fetchTopicOffsets(topic);
    assert.equal(
      ends.reduce((sum, p) => sum + Number(p.high), 0),
      60,
      "the topic holds what was produced",
    );
    await admin.disconnect();
    const first = await consume(kafka, topic, groupId, 60, 500);
    assert.deepEqual(first.sort(), Array.from({ length: 60 }, (_, i) => `m${i}`).sort());
    phase("produce and consume 60");
  }

  await stopKafka(info);
  assert.equal(await kafkaStatus(info), "stopped");
  phase("stop");
  await assert.rejects(waitForBroker(info.bootstrapServers, 1500), "nothing answers while it is stopped");

  last = Date.now();
  info = await restartKafka(info);
  phase("restart until ready");
  assert.equal(await kafkaStatus(info), "running");
  assert.deepEqual(info.bootstrapServers, before, "same address after the restart");

  const kafka = kafkaClient(info, "smoke-restart-2");
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const [kept] = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.equal(
    kept?.partitions.reduce((sum, p) => sum + Number(p.offset), 0),
    60,
    "the group's commits survived the restart",
  );

  await produce(kafka, topic, 60, 40);
  const rest = await consume(kafka, topic, groupId, 40, 2000);
  assert.deepEqual(
    [...rest].sort(),
    Array.from({ length: 40 }, (_, i) => `m${60 + i}`).sort(),
    "exactly the messages produced after the restart, none of the earlier ones",
  );
  phase("produce and consume 40 more");
  const ends = await admin.fetchTopicOffsets(topic);
  assert.equal(
    ends.reduce((sum, p) => sum + Number(p.high), 0),
    100,
    "the topic holds the messages from before and after the restart",
  );
});
