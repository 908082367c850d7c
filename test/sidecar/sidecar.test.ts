/**
 * The sidecar against the stack's real Kafka broker: consumers connect from loopback addresses standing in
 * for pod IPs (127.0.1.x; the broker records them as client hosts), the sidecar runs in this process, and a
 * small HTTP server stands in for the controller's report receiver (the receiver is tested on its own in
 * controller/reports/). Every pushed body goes through parseReport there; none may be refused.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Kafka, logLevel, type Admin, type Producer } from "kafkajs";
import { describeGroup } from "../demo-apps/support.js";
import { parseSidecarConfig } from "../../sidecar/config.js";
import { createTopic, scramOptions, uniqueName } from "../stack/kafka/client.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import {
  brokers,
  FakeReceiver,
  startConsumer,
  startSidecar,
  tokenFile,
  type TestConsumer,
} from "./support.js";

const BASE = {
  lagThreshold: 5,
  offsetResetPolicy: "latest" as const,
  clientIdPrefix: undefined,
  fastIntervalMs: 300,
  slowIntervalMs: 60_000,
  stallWindowMs: 2_000,
  rateWindowMs: 10_000,
  endOffsetWatch: false,
};

let admin: Admin;
let producer: Producer;
const receiver = new FakeReceiver();
let url: URL;
const token = tokenFile();

before(async () => {
  const kafka = new Kafka({ clientId: "sidecar-test-admin", brokers: brokers(), logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await Promise.all([admin.connect(), producer.connect()]);
  url = await receiver.start();
});

after(async () => {
  await Promise.all([admin.disconnect(), producer.disconnect(), receiver.stop()]);
  assert.deepEqual(receiver.invalid, [], "every pushed body passes parseReport");
});

async function send(topic: string, perPartition: Record<number, number>): Promise<void> {
  const messages = Object.entries(perPartition).flatMap(([p, n]) =>
    Array.from({ length: n }, (_, i) => ({ partition: Number(p), value: `m${i}` })),
  );
  await producer.send({ topic, messages });
}

/**
 * One message per partition, waited for until the group has committed it: from then on the lag is
 * log-end − committed. Before any commit the trigger's `latest` rule counts 1 per partition whatever the log.
 */
async function primeCommits(topic: string, groupId: string, partitions: number): Promise<void> {
  await send(topic, Object.fromEntries(Array.from({ length: partitions }, (_, p) => [p, 1])));
  await waitFor(
    "the first message of each partition committed",
    async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return offsets!.partitions.every((p) => p.offset === "1") ? true : undefined;
    },
    30_000,
    200,
  );
}

async function waitForAssignment(groupId: string, topic: string, members: number): Promise<void> {
  await waitFor(
    `group ${groupId} stable with ${members} members holding partitions`,
    async () => {
      const g = await describeGroup(admin, groupId, topic);
      return g.state === "Stable" &&
        g.members.length === members &&
        g.members.every((m) => m.partitions.length > 0)
        ? true
        : undefined;
    },
    60_000,
    200,
  );
}

test("two pods in one group: each sidecar reports only its own partitions, with admin's offsets; idle first; 503 retried", async (t) => {
  const topic = uniqueName("sidecar-own");
  const groupId = uniqueName("sidecar-own-group");
  await createTopic(admin, topic, 4);
  const consumers: TestConsumer[] = [];
  t.after(() => Promise.all(consumers.map((c) => c.stop())));
  consumers.push(await startConsumer("127.0.1.11", groupId, topic));
  consumers.push(await startConsumer("127.0.1.12", groupId, topic));
  await waitForAssignment(groupId, topic, 2);

  receiver.unavailableFirst = 2;
  const config = { ...BASE, consumerGroup: groupId, topic, scaledObject: "own" };
  const a = startSidecar({ ...config, podName: "pod-a", podIp: "127.0.1.11" }, url, token);
  const b = startSidecar({ ...config, podName: "pod-b", podIp: "127.0.1.12" }, url, token);
  t.after(() => Promise.all([a.stop(), b.stop()]));

  // Nothing produced yet: both pods idle.
  await waitFor("an idle report from each pod", () =>
    receiver.latest("pod-a")?.state === "idle" && receiver.latest("pod-b")?.state === "idle"
      ? true
      : undefined,
  );
  assert.equal(receiver.answered503, 2, "the receiver answered 503 twice");
  assert.ok(receiver.latest("pod-a")!.partitions.length > 0, "idle with partitions assigned");

  // Hold the consumers still, so that lag and offsets stay put while they are compared with admin's.
  await primeCommits(topic, groupId, 4);
  for (const c of consumers) c.consumer.pause([{ topic }]);
  await send(topic, { 0: 3, 1: 4, 2: 5, 3: 6 });
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  // 4 primed messages, all committed, and 18 new ones.
  assert.equal(
    [...ends.values()].reduce((x, y) => x + y, 0),
    22,
  );
  await waitFor("reports with all 18 messages as lag", () =>
    (receiver.latest("pod-a")?.lag ?? 0) + (receiver.latest("pod-b")?.lag ?? 0) === 18 ? true : undefined,
  );

  const group = await describeGroup(admin, groupId, topic);
  const assigned = (ip: string) => group.members.find((m) => m.clientHost === `/${ip}`)?.partitions ?? [];
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committedOf = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
  for (const [pod, ip] of [
    ["pod-a", "127.0.1.11"],
    ["pod-b", "127.0.1.12"],
  ] as const) {
    const report = receiver.latest(pod)!;
    assert.deepEqual(
      report.partitions.map((p) => p.partition),
      assigned(ip),
      `${pod} reports exactly its members' partitions`,
    );
    assert.equal(report.members, 1);
    assert.equal(report.groupState, "Stable");
    assert.equal(report.state, "busy");
    for (const p of report.partitions) {
      assert.equal(p.topic, topic);
      assert.equal(p.logEndOffset, ends.get(p.partition), `log-end offset of ${p.partition}`);
      assert.equal(p.committedOffset, committedOf.get(p.partition), `committed offset of ${p.partition}`);
      const c = committedOf.get(p.partition)!;
      assert.equal(c, 1);
      assert.equal(p.lag, ends.get(p.partition)! - c);
    }
  }
  const all = [...receiver.latest("pod-a")!.partitions, ...receiver.latest("pod-b")!.partitions].map(
    (p) => p.partition,
  );
  assert.deepEqual(all.sort(), [0, 1, 2, 3], "the two pods' partitions are disjoint and cover the topic");

  const metrics = await a.metrics.registry.metrics();
  assert.match(metrics, /lagscale_sidecar_reports_sent_total\{status="202"\} [1-9]/);
  assert.match(metrics, /lagscale_sidecar_kafka_requests_total\{api="DescribeGroups"\} [1-9]/);
});

test("a consumer stuck on a message is reported stalled after the stall window", async (t) => {
  const topic = uniqueName("sidecar-stall");
  const groupId = uniqueName("sidecar-stall-group");
  await createTopic(admin, topic, 1);
  const consumer = await startConsumer("127.0.1.13", groupId, topic, async ({ message }, released) => {
    // A handler that never finishes on the poison message (until the test ends).
    if (message.value?.toString() === "poison") await released;
  });
  t.after(() => consumer.stop());
  await waitForAssignment(groupId, topic, 1);
  await primeCommits(topic, groupId, 1);
  await producer.send({ topic, messages: [{ value: "poison" }, { value: "after" }] });

  const sidecar = startSidecar(
    {
      ...BASE,
      consumerGroup: groupId,
      topic,
      scaledObject: "stall",
      podName: "pod-stuck",
      podIp: "127.0.1.13",
    },
    url,
    token,
  );
  t.after(() => sidecar.stop());
  const report = await waitFor(
    "a stalled report",
    () => {
      const r = receiver.latest("pod-stuck");
      return r?.state === "stalled" ? r : undefined;
    },
    20_000,
  );
  const p = report.partitions[0]!;
  assert.equal(p.stalled, true);
  assert.ok(p.stalledForMs >= BASE.stallWindowMs, `stalled for ${p.stalledForMs} ms`);
  assert.equal(p.committedOffset, 1);
  assert.equal(p.lag, 2);
  assert.equal(consumer.handled.length, 1, "the consumer is still stuck on the poison message");
  assert.match(await sidecar.metrics.registry.metrics(), /lagscale_sidecar_stalled_partitions 1/);
});

test("a burst that crosses lagThreshold is reported at once, marked urgent", async (t) => {
  const topic = uniqueName("sidecar-burst");
  const groupId = uniqueName("sidecar-burst-group");
  await createTopic(admin, topic, 1);
  const consumer = await startConsumer("127.0.1.14", groupId, topic);
  t.after(() => consumer.stop());
  await waitForAssignment(groupId, topic, 1);
  await primeCommits(topic, groupId, 1);
  consumer.consumer.pause([{ topic }]);
  // Lag 2, under the threshold of 5: the sidecar reads at the fast interval, nothing urgent.
  await send(topic, { 0: 2 });
  const sidecar = startSidecar(
    {
      ...BASE,
      consumerGroup: groupId,
      topic,
      scaledObject: "burst",
      podName: "pod-burst",
      podIp: "127.0.1.14",
    },
    url,
    token,
  );
  t.after(() => sidecar.stop());
  await waitFor("a report with lag 2", () => (receiver.latest("pod-burst")?.lag === 2 ? true : undefined));
  assert.equal(
    receiver.received.filter((r) => r.report.pod.name === "pod-burst").some((r) => r.report.urgent),
    false,
  );
  const sentAt = Date.now();
  await send(topic, { 0: 20 });
  const urgent = await waitFor("an urgent report", () =>
    receiver.received.find((r) => r.report.pod.name === "pod-burst" && r.report.urgent),
  );
  assert.equal(urgent.report.lag, 22);
  // Far under the slow interval (60 s): it came at the next fast reading, not at a slow one.
  assert.ok(urgent.at - sentAt < BASE.slowIntervalMs / 2, `${urgent.at - sentAt} ms after the burst`);
});

test("with the end-offset watch, a burst on an idle pod is reported at once", async (t) => {
  const topic = uniqueName("sidecar-watch");
  const groupId = uniqueName("sidecar-watch-group");
  await createTopic(admin, topic, 1);
  const consumer = await startConsumer("127.0.1.15", groupId, topic);
  t.after(() => consumer.stop());
  await waitForAssignment(groupId, topic, 1);
  await primeCommits(topic, groupId, 1);
  consumer.consumer.pause([{ topic }]);
  const sidecar = startSidecar(
    {
      ...BASE,
      endOffsetWatch: true,
      consumerGroup: groupId,
      topic,
      scaledObject: "watch",
      podName: "pod-watch",
      podIp: "127.0.1.15",
    },
    url,
    token,
  );
  t.after(() => sidecar.stop());
  await waitFor("an idle report", () => (receiver.latest("pod-watch")?.state === "idle" ? true : undefined));
  const sentAt = Date.now();
  await send(topic, { 0: 30 });
  const urgent = await waitFor("an urgent report", () =>
    receiver.received.find((r) => r.report.pod.name === "pod-watch" && r.report.urgent),
  );
  assert.equal(urgent.report.lag, 30);
  assert.ok(urgent.at - sentAt < BASE.slowIntervalMs / 2, `${urgent.at - sentAt} ms after the burst`);
});

test("over SASL/SCRAM, with the credentials in KEDA's env names, the sidecar reads the group", async (t) => {
  const info = loadStack().kafka;
  if (!info.sasl) {
    t.skip("the stack's broker has no SASL listener");
    return;
  }
  const user = scramOptions(info, "scram-sha-512");
  const config = parseSidecarConfig({
    POD_NAME: "pod-sasl",
    POD_NAMESPACE: "sidecar-test",
    POD_IP: "127.0.1.16",
    LAGSCALE_SCALED_OBJECT: "sasl",
    KAFKA_BOOTSTRAP_SERVERS: info.sasl.bootstrapServers.join(","),
    LAGSCALE_CONSUMER_GROUP: "unused",
    LAGSCALE_LAG_THRESHOLD: "5",
    LAGSCALE_REPORT_URL: url.href,
    KAFKA_SASL: "scram_sha512",
    KAFKA_USERNAME: user.username,
    KAFKA_PASSWORD: user.password,
  });
  const topic = uniqueName("sidecar-sasl");
  const groupId = uniqueName("sidecar-sasl-group");
  await createTopic(admin, topic, 2);
  const consumer = await startConsumer("127.0.1.16", groupId, topic);
  t.after(() => consumer.stop());
  await waitForAssignment(groupId, topic, 1);
  await primeCommits(topic, groupId, 2);
  consumer.consumer.pause([{ topic }]);
  await send(topic, { 0: 2, 1: 3 });
  const sidecar = startSidecar(
    {
      ...BASE,
      consumerGroup: groupId,
      topic,
      scaledObject: "sasl",
      podName: "pod-sasl",
      podIp: "127.0.1.16",
      kafka: config.kafka,
    },
    url,
    token,
  );
  t.after(() => sidecar.stop());
  const report = await waitFor("a report with lag 5", () => {
    const r = receiver.latest("pod-sasl");
    return r?.lag === 5 ? r : undefined;
  });
  assert.deepEqual(
    report.partitions.map((p) => [p.partition, p.committedOffset, p.logEndOffset]),
    [
      [0, 1, 3],
      [1, 1, 4],
    ],
  );
});

test("a group waiting for a stuck member to rejoin is reported rebalancing", async (t) => {
  const topic = uniqueName("sidecar-rebalance");
  const groupId = uniqueName("sidecar-rebalance-group");
  await createTopic(admin, topic, 2);
  const stuck = await startConsumer("127.0.1.17", groupId, topic, async ({ message }, released) => {
    if (message.value?.toString() === "poison") await released;
  });
  t.after(() => stuck.stop());
  await waitForAssignment(groupId, topic, 1);
  await primeCommits(topic, groupId, 2);
  await send(topic, { 0: 1 });
  await producer.send({ topic, messages: [{ partition: 1, value: "poison" }] });
  const sidecar = startSidecar(
    {
      ...BASE,
      consumerGroup: groupId,
      topic,
      scaledObject: "rebalance",
      podName: "pod-rb",
      podIp: "127.0.1.17",
    },
    url,
    token,
  );
  t.after(() => sidecar.stop());
  await waitFor("a report with both partitions", () =>
    receiver.latest("pod-rb")?.partitions.length === 2 ? true : undefined,
  );
  // A second member joins; the coordinator waits for the stuck one to rejoin (up to its rebalance timeout).
  const joining = await startConsumer("127.0.1.18", groupId, topic);
  t.after(() => joining.stop());
  const report = await waitFor(
    "a rebalancing report",
    () => {
      const r = receiver.latest("pod-rb");
      return r?.state === "rebalancing" ? r : undefined;
    },
    20_000,
  );
  assert.match(report.groupState, /^(PreparingRebalance|CompletingRebalance)$/);
});
