/**
 * The demo consumer against the stack's real broker: it reads what the producer wrote and commits as it goes,
 * SLEEP paces it, and SIGTERM makes it leave the group at once, so the other member takes over its partitions
 * long before the 30 s session timeout would have. A member in the middle of a long batch at SLEEP=1 rejoins
 * when another member joins, instead of being expelled at the rebalance timeout.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { GROUP_TIMINGS } from "../../demo-apps/consumer/src/consumer.js";
import { createTopic, uniqueName } from "../stack/kafka/client.js";
import { waitFor } from "../support/wait.js";
import {
  bootstrapServers,
  committed,
  connectedAdmin,
  describeGroup,
  endOffsets,
  startApp,
  startProducer,
  sum,
  testKafka,
} from "./support.js";

const MESSAGE_LINE = /^message at topic\/partition\/offset (\S+)\/(\d+)\/(\d+): (Key-\d+) = (.+)$/;

test("the consumer reads all 100 messages of one producer request and commits every one", async (t) => {
  const admin = await connectedAdmin();
  t.after(() => admin.disconnect());
  const topic = uniqueName("demo-consumer-all");
  const groupId = uniqueName("demo-consumer-all-group");
  await createTopic(admin, topic, 5);
  const brokers = bootstrapServers().join(",");

  const producer = await startProducer({ KAFKA_BROKER: brokers, KAFKA_TOPIC: topic });
  t.after(() => producer.app.kill());
  const res = await fetch(`${producer.url}/?count=100`);
  assert.equal(res.status, 200);
  const ends = await endOffsets(admin, topic);
  assert.equal(sum(ends), 100);

  const consumer = startApp("consumer", {
    KAFKA_BROKER: brokers,
    KAFKA_TOPIC: topic,
    KAFKA_CONSUMER_GROUP: groupId,
  });
  t.after(() => consumer.kill());
  await consumer.waitForLine(
    new RegExp(
      `^Waiting for messages on broker: \\[${bootstrapServers().join(" ")}\\] group: ${groupId} topic: ${topic}$`,
    ),
    10_000,
  );
  await waitFor(
    "100 committed",
    async () => (sum(await committed(admin, groupId, topic)) === 100 ? true : undefined),
    60_000,
  );
  assert.deepEqual(await committed(admin, groupId, topic), ends);

  const messages = consumer.lines.map((l) => MESSAGE_LINE.exec(l)).filter((m) => m !== null);
  assert.equal(messages.length, 100, consumer.lines.join("\n"));
  const keys = messages.map((m) => m[4]).sort();
  assert.deepEqual(keys, Array.from({ length: 100 }, (_, i) => `Key-${i}`).sort());
  for (const m of messages) {
    assert.equal(m[1], topic);
    assert.equal(m[5]!.startsWith(`Message No: ${m[4]!.slice(4)}, Time: `), true, m[0]);
  }
  assert.equal(consumer.lines.filter((l) => l === "Slept for 0 seconds").length, 100);
});

test("SLEEP=1 paces the consumer at about a message a second, committing each before sleeping", async (t) => {
  const admin = await connectedAdmin();
  t.after(() => admin.disconnect());
  const topic = uniqueName("demo-consumer-sleep");
  const groupId = uniqueName("demo-consumer-sleep-group");
  await createTopic(admin, topic, 5);
  const producer = testKafka("demo-consumer-sleep-producer").producer();
  await producer.connect();
  const N = 6;
  await producer.send({
    topic,
    messages: Array.from({ length: N }, (_, i) => ({ key: `Key-${i}`, value: `v${i}` })),
  });
  await producer.disconnect();

  const consumer = startApp("consumer", {
    KAFKA_BROKER: bootstrapServers().join(","),
    KAFKA_TOPIC: topic,
    KAFKA_CONSUMER_GROUP: groupId,
    SLEEP: "1",
  });
  t.after(() => consumer.kill());

  // sample the group's committed total until all N are committed
  const samples: { at: number; total: number }[] = [];
  await waitFor(
    `${N} committed`,
    async () => {
      const total = sum(await committed(admin, groupId, topic));
      samples.push({ at: Date.now(), total });
      return total === N ? true : undefined;
    },
    60_000,
    100,
  );
  const firstCommit = samples.find((s) => s.total > 0)!;
  const allCommitted = samples.at(-1)!;
  const seconds = (allCommitted.at - firstCommit.at) / 1000;
  // commits happen one per SLEEP: the N-th is N-1 sleeps after the first (sampling adds a little slack)
  assert.ok(
    seconds >= N - 1 - 0.6,
    `all ${N} committed ${seconds.toFixed(2)} s after the first; SLEEP=1 was not honoured`,
  );
  t.diagnostic(`${N} messages with SLEEP=1: last commit ${seconds.toFixed(2)} s after the first`);
  const seen = new Set(samples.map((s) => s.total));
  assert.ok(seen.size >= N - 1, `commits did not arrive one by one: totals seen ${[...seen].join(", ")}`);

  // the console shows commit → message → sleep for each one
  await consumer.waitForLine(/^Slept for 1 seconds$/, 5_000);
  const printed = consumer.lines.filter((l) => MESSAGE_LINE.test(l)).length;
  assert.ok(printed >= N - 1 && printed <= N, `printed ${printed} messages`);
});

test("SIGTERM leaves the group within a second; the other member gets every partition long before the session timeout", async (t) => {
  const admin = await connectedAdmin();
  t.after(() => admin.disconnect());
  const topic = uniqueName("demo-consumer-leave");
  const groupId = uniqueName("demo-consumer-leave-group");
  await createTopic(admin, topic, 5);
  const producer = testKafka("demo-consumer-leave-producer").producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: 50 }, (_, i) => ({ key: `Key-${i}`, value: `v${i}`, partition: i % 5 })),
  });
  await producer.disconnect();

  assert.equal(
    GROUP_TIMINGS.sessionTimeout,
    30_000,
    "the test relies on the long (kafka-go) session timeout",
  );
  const env = {
    KAFKA_BROKER: bootstrapServers().join(","),
    KAFKA_TOPIC: topic,
    KAFKA_CONSUMER_GROUP: groupId,
    SLEEP: "5",
  };
  const a = startApp("consumer", { ...env, POD_IP: "127.0.0.2" });
  t.after(() => a.kill());
  const b = startApp("consumer", { ...env, POD_IP: "127.0.0.3" });
  t.after(() => b.kill());

  // both joined: one group, kafka-go's protocol name, each member seen from its own address
  const before = await waitFor(
    "a stable group of two members",
    async () => {
      const g = await describeGroup(admin, groupId, topic);
      const assigned = g.members.reduce((n, m) => n + m.partitions.length, 0);
      return g.state === "Stable" && g.members.length === 2 && assigned === 5 ? g : undefined;
    },
    40_000,
  );
  assert.equal(before.protocol, "range");
  assert.deepEqual(before.members.map((m) => m.clientHost).sort(), ["/127.0.0.2", "/127.0.0.3"]);
  assert.deepEqual(before.members.map((m) => m.partitions.length).sort(), [2, 3]);

  // b is in the middle of a 5 s sleep when the signal arrives: right after a message line printed from now
  // on (an older one may be a sleep ago, and b then at its next commit).
  await b.waitForLine(MESSAGE_LINE, 20_000, b.lines.length);
  const { status, ms } = await b.signal("SIGTERM");
  t.diagnostic(`b exited ${ms} ms after SIGTERM`);
  assert.equal(status, 0, b.stderr());
  assert.ok(ms < 1500, `the consumer took ${ms} ms to exit after SIGTERM`);
  // the console lines (diagnostics are JSON lines in between) end with the original's two shutdown lines
  const consoleLines = b.lines.filter((l) => !l.startsWith("{"));
  assert.deepEqual(consoleLines.slice(-2), ["Got signal: terminated", "Closed the reader"]);

  // it left: gone from the member list at once, not after the session timeout
  const afterExit = await describeGroup(admin, groupId, topic);
  assert.ok(
    afterExit.members.every((m) => m.clientHost !== "/127.0.0.3"),
    `b is still a member: ${JSON.stringify(afterExit.members)}`,
  );

  const started = Date.now();
  const after = await waitFor(
    "a owning all 5 partitions",
    async () => {
      const g = await describeGroup(admin, groupId, topic);
      return g.state === "Stable" && g.members.length === 1 && g.members[0]!.partitions.length === 5
        ? g
        : undefined;
    },
    GROUP_TIMINGS.sessionTimeout + 10_000,
  );
  const tookOver = Date.now() - started;
  t.diagnostic(`a owned all partitions ${tookOver} ms after b exited`);
  assert.equal(after.members[0]!.clientHost, "/127.0.0.2");
  assert.ok(tookOver < GROUP_TIMINGS.sessionTimeout / 2, `a took ${tookOver} ms to get b's partitions`);
});

test("SLEEP=1 in the middle of a long batch: a member that joins gets its share at the next heartbeat, and nobody is expelled", async (t) => {
  const admin = await connectedAdmin();
  t.after(() => admin.disconnect());
  const topic = uniqueName("demo-consumer-rejoin");
  const groupId = uniqueName("demo-consumer-rejoin-group");
  await createTopic(admin, topic, 2);
  const producer = testKafka("demo-consumer-rejoin-producer").producer();
  await producer.connect();
  // 40 messages a partition: one fetch, a batch of 40 s at SLEEP=1, longer than the 30 s rebalance timeout.
  await producer.send({
    topic,
    messages: Array.from({ length: 80 }, (_, i) => ({ key: `Key-${i}`, value: `v${i}`, partition: i % 2 })),
  });
  await producer.disconnect();
  const env = {
    KAFKA_BROKER: bootstrapServers().join(","),
    KAFKA_TOPIC: topic,
    KAFKA_CONSUMER_GROUP: groupId,
    SLEEP: "1",
  };
  const a = startApp("consumer", { ...env, POD_IP: "127.0.0.2" });
  t.after(() => a.kill());
  await a.waitForLine(MESSAGE_LINE, 30_000);
  // a owns both partitions and is a few messages into its batch when b joins.
  await a.waitForLine(/^Slept for 1 seconds$/, 10_000);
  const b = startApp("consumer", { ...env, POD_IP: "127.0.0.3" });
  t.after(() => b.kill());
  const joined = Date.now();

  // Before a heartbeat was offered after a 1 s sleep, a learned of the rebalance only when the coordinator
  // expelled it at the rebalance timeout: its next commit failed, it exited, and b was left alone.
  const shared = await waitFor(
    "a stable group of a and b with a partition each",
    async () => {
      const g = await describeGroup(admin, groupId, topic);
      return g.state === "Stable" &&
        g.members.length === 2 &&
        g.members.every((m) => m.partitions.length === 1)
        ? g
        : undefined;
    },
    GROUP_TIMINGS.rebalanceTimeout + 10_000,
    250,
  );
  const tookMs = Date.now() - joined;
  t.diagnostic(
    `b had its partition ${tookMs} ms after it started (rebalance timeout ${GROUP_TIMINGS.rebalanceTimeout} ms)`,
  );
  assert.deepEqual(shared.members.map((m) => m.clientHost).sort(), ["/127.0.0.2", "/127.0.0.3"]);
  assert.equal(a.child.exitCode, null, `a exited: ${a.stderr()}`);
  assert.ok(
    !a.lines.some((l) => l.includes("not aware of this member")),
    a.lines.filter((l) => l.startsWith("{")).join("\n"),
  );
});
