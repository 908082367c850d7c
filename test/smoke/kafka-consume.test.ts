/**
 * Smoke test: the stack's Kafka is a real broker. 1,000 messages go to a new 5-partition topic, a consumer group
 * of two members reads them, and the group's committed offsets, read back with the admin API, add up to 1,000
 * with every partition having some.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AssignerProtocol, Partitioners, type GroupDescription } from "kafkajs";
import { createTopic, kafkaClient, uniqueName, withTimeout } from "../stack/kafka/index.js";
import { loadStack } from "../support/stack.js";

const MESSAGES = 1000;
const PARTITIONS = 5;

test("1,000 messages through a 5-partition topic; the group's committed offsets sum to 1,000", async (t) => {
  const { kafka: info } = loadStack();
  const kafka = kafkaClient(info, "smoke-consume");
  const topic = uniqueName("smoke-consume");
  const groupId = uniqueName("smoke-consume-group");

  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await createTopic(admin, topic, PARTITIONS);

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
  assert.equal(ends.length, PARTITIONS);
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
  assert.equal(committed.length, PARTITIONS, "a committed offset per partition");
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
});
