/**
 * Kafka's floor of requests per round, on the stack's real broker (Kafka 4.4): 1,000 triggers over 50
 * consumer groups cost one OffsetFetch per group coordinator per step (KIP-709's multi-group OffsetFetch
 * v8), their coordinators one FindCoordinator v4 (KIP-699), and the answers equal those of the per-group
 * path (one OffsetFetch v1-v4 per group, as kafkajs sends it), trigger by trigger. KEDA's way for comparison
 * (`PerTriggerLagReader`, one client per trigger): the same answers, a client and its requests per trigger.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { logLevel } from "kafkajs";
import { BatchedLagReader } from "../../core/kafka/batched-reader.js";
import { PerTriggerLagReader } from "../../core/kafka/per-trigger-reader.js";
import { createInternalCluster } from "../../core/kafka/kafkajs-internals.js";
import type { LagReadResult, LagRequest, RequestCounts } from "../../core/kafka/types.js";
import type { StackInfo } from "../stack/types.js";
import { loadStack } from "../support/stack.js";
import { KafkaFixture, setupClient } from "./support.js";

const GROUPS = 50;
/** Groups from here on have triggers without a topic (their committed topics are discovered first). */
const TOPICLESS_FROM = 40;
const TOPICS = 10;
const PARTITIONS = 4;
const TRIGGERS = 1000;

let stack: StackInfo;
let kafka: KafkaFixture;
let requests: LagRequest[];
let groups: string[];

before(async () => {
  stack = loadStack();
  kafka = new KafkaFixture(setupClient(stack.kafka), stack.kafka);
  await kafka.connect();
  const topics = await kafka.createTopics(
    "multi",
    Array.from({ length: TOPICS }, () => PARTITIONS),
  );
  for (const topic of topics) await kafka.produce(topic, [5, 6, 7, 8]);
  groups = Array.from({ length: GROUPS }, () => kafka.group("multi"));
  // Group g commits on three topics, partition by partition differently; some partitions stay uncommitted.
  for (const [g, group] of groups.entries()) {
    for (let k = 0; k < 3; k++) {
      const topic = topics[(g + k) % TOPICS]!;
      await kafka.commit(group, topic, { 0: g % 5, 1: (g + k) % 6, 3: 8 });
    }
  }
  const cluster = { brokers: stack.kafka.bootstrapServers };
  requests = Array.from({ length: TRIGGERS }, (_, i): LagRequest => {
    const g = i % GROUPS;
    const consumerGroup = groups[g]!;
    if (g >= TOPICLESS_FROM) return { cluster, consumerGroup };
    const topic = topics[(g + (i % 4)) % TOPICS]!;
    // A third of the triggers limit their partitions, as KEDA's partitionLimitation does.
    return i % 3 === 0
      ? { cluster, consumerGroup, topic, partitionLimitation: [1, 3] }
      : { cluster, consumerGroup, topic };
  });
});

after(async () => {
  await kafka?.cleanup();
});

/** The coordinators of the test's groups, looked up one by one with kafkajs's own FindCoordinator. */
async function coordinatorCount(): Promise<number> {
  const cluster = createInternalCluster({
    config: {
      clientId: "lagscale-test-coordinators",
      brokers: stack.kafka.bootstrapServers,
      logLevel: logLevel.NOTHING,
    },
    onNetworkEvent: () => undefined,
  });
  await cluster.connect();
  await cluster.refreshMetadata();
  try {
    const nodes = new Set<number>();
    for (const groupId of groups) {
      const { coordinator } = await cluster.findGroupCoordinatorMetadata({ groupId, coordinatorType: 0 });
      nodes.add(coordinator.nodeId);
    }
    return nodes.size;
  } finally {
    await cluster.disconnect();
  }
}

async function round(
  reader: BatchedLagReader | PerTriggerLagReader,
  triggers = requests,
): Promise<{ results: LagReadResult[]; sent: RequestCounts }> {
  const before = reader.stats().requests;
  const results = await Promise.all(triggers.map((r, i) => reader.read(r, `ns/so${i}#0`)));
  const after = reader.stats().requests;
  const sent: RequestCounts = {};
  for (const [api, n] of Object.entries(after))
    if (n - (before[api] ?? 0) > 0) sent[api] = n - (before[api] ?? 0);
  return { results, sent };
}

it("1,000 triggers over 50 groups: one OffsetFetch per coordinator and step, answers equal to the per-group path", async () => {
  const coordinators = await coordinatorCount();
  const batched = new BatchedLagReader({ metadataMaxAgeMs: 600_000 });
  const perGroup = new BatchedLagReader({ metadataMaxAgeMs: 600_000, multiGroupRequests: false });
  try {
    const first = await round(batched);
    // Coordinators of the topic-less groups (step 2) and of the others (step 4): one FindCoordinator v4 each.
    assert.equal(first.sent.GroupCoordinator, 2, JSON.stringify(first.sent));
    const steady = await round(batched);
    // Topic-less groups are asked in step 2, the others in step 4: one OffsetFetch per coordinator in each.
    assert.deepEqual(steady.sent, { ListOffsets: 1, OffsetFetch: 2 * coordinators });

    await round(perGroup);
    const reference = await round(perGroup);
    assert.deepEqual(reference.sent, { ListOffsets: 1, OffsetFetch: GROUPS });

    for (const [i, result] of steady.results.entries()) {
      assert.equal(result.ok, true, `trigger ${i}: ${JSON.stringify(result)}`);
      assert.deepEqual(result, reference.results[i], `trigger ${i} (group ${requests[i]!.consumerGroup})`);
    }
    // The answers carry what was committed: a committed partition and an uncommitted one of group 0.
    const first0 = steady.results[1];
    assert.ok(first0?.ok);
    const committed = first0.partitions.map((p) => p.committed);
    assert.ok(committed.includes(8) && committed.includes(-1), JSON.stringify(first0.partitions));
  } finally {
    await batched.close();
    await perGroup.close();
  }
});

it("one client per trigger (KEDA's way, for comparison): a client each, the same answers, every request per trigger", async () => {
  const triggers = requests.slice(0, 100);
  const shared = new BatchedLagReader({ metadataMaxAgeMs: 600_000 });
  const perTrigger = new PerTriggerLagReader({ metadataMaxAgeMs: 600_000 });
  try {
    await round(perTrigger, triggers);
    assert.equal(perTrigger.clients, triggers.length);
    const steady = await round(perTrigger, triggers);
    // Each trigger's own client asks for its group's offsets and its topics' end offsets, every round.
    assert.deepEqual(steady.sent, { ListOffsets: triggers.length, OffsetFetch: triggers.length });
    const reference = await round(shared, triggers);
    for (const [i, result] of steady.results.entries()) {
      assert.equal(result.ok, true, `trigger ${i}: ${JSON.stringify(result)}`);
      assert.deepEqual(result, reference.results[i], `trigger ${i} (group ${triggers[i]!.consumerGroup})`);
    }
  } finally {
    await shared.close();
    await perTrigger.close();
  }
});
