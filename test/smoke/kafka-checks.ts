/**
 * The Kafka smoke checks, run on any broker: the stack's (kafka-consume, kafka-scram, kafka-restart) and one
 * started through testcontainers (kafka-testcontainers). Each asserts; the test files say which broker.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { AssignerProtocol, Partitioners, type GroupDescription, type Kafka } from "kafkajs";
import {
  createTopic,
  kafkaClient,
  kafkaStatus,
  restartKafka,
  scramOptions,
  stopKafka,
  uniqueName,
  waitForBroker,
  withTimeout,
} from "../stack/kafka/index.js";
import type { KafkaInfo } from "../stack/types.js";

const MESSAGES = 1000;
const CONSUME_PARTITIONS = 5;
const RESTART_PARTITIONS = 3;

/**
 * 1,000 messages go to a new 5-partition topic, a consumer group of two members reads them, and the group's
 * committed offsets, read back with the admin API, add up to 1,000 with every partition having some.
 */
export async function checkConsume(info: KafkaInfo, t: TestContext): Promise<void> {
  const kafka = kafkaClient(info, "smoke-consume");
  const topic = uniqueName("smoke-consume");
  const groupId = uniqueName("smoke-consume-group");

  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await createTopic(admin, topic, CONSUME_PARTITIONS);

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let batch = 0; batch < MESSAGES / 100; batch++) {
    await producer.send({
      topic,
      messages: Array.from({ length: 100 }, (_, i) => {
        const n = batch * 100 + i;
        return { key: `key-${n}`, value: `message-${n}` };
      }),
    });
  }
  await producer.disconnect();

  const ends = await admin.fetchTopicOffsets(topic);
  assert.equal(ends.length, CONSUME_PARTITIONS);
  assert.equal(
    ends.reduce((sum, p) => sum + Number(p.high), 0),
    MESSAGES,
    "end offsets after producing",
  );

  // Two members, so that the group really coordinates (join, sync, assignment across members).
  const seen = new Set<string>();
  const values = new Set<string>();
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  const consumers = [0, 1].map(() =>
    kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 }),
  );
  t.after(() => Promise.all(consumers.map((c) => c.disconnect())));
  for (const consumer of consumers) {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.add(`${partition}:${message.offset}`);
        values.add(message.value?.toString() ?? "");
        if (seen.size === MESSAGES) resolveAll();
      },
    });
  }
  await withTimeout(all, 60_000, () => `only ${seen.size} of ${MESSAGES} messages consumed in 60 s`);
  assert.equal(values.size, MESSAGES, "every message value arrived");

  // The group as the sidecar will see it: both members, their hosts, and the partitions assigned to each.
  let group: GroupDescription | undefined;
  const stableBy = Date.now() + 20_000;
  do {
    [group] = (await admin.describeGroups([groupId])).groups;
    if (group?.state === "Stable" && group.members.length === 2) break;
    await new Promise((r) => setTimeout(r, 250));
  } while (Date.now() < stableBy);
  assert.ok(group, "describeGroups returns the group");
  assert.equal(group.state, "Stable");
  assert.equal(group.protocolType, "consumer");
  assert.equal(group.members.length, 2);
  const assigned: number[] = [];
  for (const member of group.members) {
    assert.ok(member.clientHost.length > 0, "a member's client host is reported");
    const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    assigned.push(...(assignment?.assignment[topic] ?? []));
  }
  assert.deepEqual(
    assigned.sort((a, b) => a - b),
    [0, 1, 2, 3, 4],
    "the members' assignments cover every partition once",
  );
  const listed = await admin.listGroups();
  assert.ok(listed.groups.some((g) => g.groupId === groupId && g.protocolType === "consumer"));

  // Committed offsets: poll until the consumers' commits of the last batches are visible (at most 15 s).
  let committed: { partition: number; offset: string }[] = [];
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    committed = entry?.partitions ?? [];
    const total = committed.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    if (total === MESSAGES || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(committed.length, CONSUME_PARTITIONS, "a committed offset per partition");
  for (const p of committed) {
    const end = ends.find((e) => e.partition === p.partition);
    assert.ok(Number(p.offset) > 0, `partition ${p.partition} received messages (committed ${p.offset})`);
    assert.equal(p.offset, end?.high, `partition ${p.partition} committed up to its end offset`);
  }
  assert.equal(
    committed.reduce((sum, p) => sum + Number(p.offset), 0),
    MESSAGES,
    "committed offsets sum to the messages produced",
  );
}

/** SCRAM on the SASL_PLAINTEXT listener: the right password gets in (produce, offsets); a wrong one and an unknown user are refused. */
export async function checkScram(
  info: KafkaInfo,
  mechanism: "scram-sha-256" | "scram-sha-512",
  t: TestContext,
): Promise<void> {
  const good = scramOptions(info, mechanism);

  const kafka = kafkaClient(info, `smoke-${mechanism}`, { sasl: good });
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const cluster = await admin.describeCluster();
  assert.ok(cluster.brokers.length >= 1);
  // The SASL listener is advertised, so metadata sends the client back to it.
  assert.deepEqual(
    cluster.brokers.map((b) => `${b.host}:${b.port}`),
    info.sasl!.bootstrapServers,
  );
  const topic = uniqueName(`smoke-${mechanism}`);
  await createTopic(admin, topic, 1);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, messages: [{ value: "authenticated" }] });
  await producer.disconnect();
  const [offsets] = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets?.high, "1");

  const refused = [
    { ...good, password: `${good.password}-wrong` },
    { ...good, username: `${good.username}-unknown` },
  ];
  for (const sasl of refused) {
    const bad = kafkaClient(info, `smoke-${mechanism}-bad`, {
      sasl,
      config: { retry: { retries: 0 } },
    }).admin();
    await assert.rejects(bad.connect(), (err: Error) => {
      assert.match(`${err.name}: ${err.message}`, /SASL|[Aa]uthentication/);
      return true;
    });
    await bad.disconnect();
  }
}

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

/**
 * The broker (one the caller started for this check alone) is stopped and started again (same ports, same data)
 * and a consumer group resumes from its committed offsets, consuming exactly the messages produced after its
 * last commit. Returns the restarted broker's info.
 */
export async function checkRestart(started: KafkaInfo, t: TestContext): Promise<KafkaInfo> {
  let info = started;
  let last = Date.now();
  const phase = (name: string) => {
    t.diagnostic(`${name}: ${((Date.now() - last) / 1000).toFixed(1)} s`);
    last = Date.now();
  };
  const topic = uniqueName("smoke-restart");
  const groupId = uniqueName("smoke-restart-group");
  const before = info.bootstrapServers;
  {
    const kafka = kafkaClient(info, "smoke-restart-1");
    const admin = kafka.admin();
    await admin.connect();
    await createTopic(admin, topic, RESTART_PARTITIONS);
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
  return info;
}
