import assert from "node:assert/strict";
import { test } from "node:test";
import { validateScaledObject } from "../../core/crd/index.js";
import { connectionKey } from "../../core/kafka/connection.js";
import type { TopicEndOffsets, WatchTick } from "../../core/kafka/end-offset-watch.js";
import type { LagReadResult } from "../../core/kafka/types.js";
import {
  earlyCall,
  EarlyEvaluations,
  memoryFromEvaluation,
  type ObjectMemory,
  type TriggerMemory,
} from "./early.js";
import { parseTriggers, type ParsedKafkaTrigger } from "./spec.js";

const cluster = { brokers: ["b:9092"] };
const clusterKey = connectionKey(cluster);

function kafkaTrigger(meta: Record<string, string> = {}): ParsedKafkaTrigger {
  const v = validateScaledObject({
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "so", namespace: "ns" },
    spec: {
      scaleTargetRef: { name: "consumer" },
      triggers: [
        {
          type: "kafka",
          metadata: {
            bootstrapServers: "b:9092",
            consumerGroup: "g1",
            topic: "orders",
            lagThreshold: "10",
            ...meta,
          },
        },
      ],
    },
  });
  if (!v.ok) assert.fail(JSON.stringify(v.errors));
  const r = parseTriggers(v.resolved.spec.triggers, []);
  assert.ok(r.ok && r.triggers[0]?.kind === "kafka", JSON.stringify(!r.ok && r.errors));
  return r.triggers[0];
}

function ends(...offsets: number[]): Map<number, number> {
  return new Map(offsets.map((o, p) => [p, o]));
}

function trigger(over: Partial<TriggerMemory> = {}): TriggerMemory {
  return {
    metricName: "s0-kafka-orders",
    cluster,
    clusterKey,
    topic: "orders",
    lag: 0,
    endOffsets: ends(100, 100, 100, 100, 100),
    lagThreshold: 10,
    activationLagThreshold: 0,
    partitions: 5,
    ...over,
  };
}

function memory(over: Partial<ObjectMemory> = {}, t: Partial<TriggerMemory> = {}): ObjectMemory {
  return { replicas: 0, maxReplicaCount: 5, activated: false, triggers: [trigger(t)], ...over };
}

function topicNow(endOffsets: Map<number, number>, topic = "orders"): TopicEndOffsets {
  let sum = 0;
  for (const o of endOffsets.values()) sum += o;
  return { clusterKey, topic, endOffsets, sum, moved: true };
}

test("early call: activation and scale-up from log-end growth, never twice for what an evaluation answered", () => {
  const rows: [string, ObjectMemory, Map<number, number> | undefined, string | undefined][] = [
    ["0 replicas, nothing produced", memory(), ends(100, 100, 100, 100, 100), undefined],
    ["0 replicas, one message", memory(), ends(101, 100, 100, 100, 100), "activation"],
    [
      "0 replicas, growth not above activationLagThreshold",
      memory({}, { activationLagThreshold: 5 }),
      ends(102, 103, 100, 100, 100),
      undefined,
    ],
    [
      "0 replicas, growth above activationLagThreshold",
      memory({}, { activationLagThreshold: 5 }),
      ends(103, 103, 100, 100, 100),
      "activation",
    ],
    ["no tick data for the topic", memory(), undefined, undefined],
    ["1 replica, a burst for 5", memory({ replicas: 1 }), ends(120, 120, 120, 120, 120), "scale-up"],
    [
      "1 replica, growth one replica handles",
      memory({ replicas: 1 }),
      ends(105, 104, 100, 100, 100),
      undefined,
    ],
    [
      "1 replica, old lag plus growth asks for 2",
      memory({ replicas: 1 }, { lag: 8 }),
      ends(105, 104, 100, 100, 100),
      "scale-up",
    ],
    [
      "the recorded lag already asked for more (a behavior limited the step): the poll answers, not each tick",
      memory({ replicas: 2 }, { lag: 100 }),
      ends(150, 100, 100, 100, 100),
      undefined,
    ],
    [
      "after an activation the HPA step is due at once, without new messages",
      memory({ replicas: 1, activated: true }, { lag: 100 }),
      ends(100, 100, 100, 100, 100),
      "scale-up",
    ],
    [
      "after an activation with one replica's worth of lag: nothing more",
      memory({ replicas: 1, activated: true }, { lag: 5 }),
      ends(100, 100, 100, 100, 100),
      undefined,
    ],
    ["at maxReplicaCount", memory({ replicas: 5 }), ends(900, 900, 900, 900, 900), undefined],
    [
      "at the partition cap",
      memory({ replicas: 2 }, { partitions: 2, endOffsets: ends(100, 100) }),
      ends(900, 900),
      undefined,
    ],
    [
      "only the trigger's partitions count (partitionLimitation 0,1)",
      memory({ replicas: 1 }, { endOffsets: ends(100, 100), partitions: 2 }),
      ends(100, 100, 900, 900, 900),
      undefined,
    ],
  ];
  for (const [name, mem, now, want] of rows) {
    const call = earlyCall(mem, (k, t) =>
      now && k === clusterKey && t === "orders" ? topicNow(now) : undefined,
    );
    assert.equal(call?.reason, want, name);
  }
  const call = earlyCall(memory({ replicas: 1 }, { lag: 8 }), () => topicNow(ends(105, 104, 100, 100, 100)));
  assert.deepEqual(call, {
    reason: "scale-up",
    trigger: "s0-kafka-orders",
    topic: "orders",
    estimatedLag: 17,
    growth: 9,
  });
});

test("memory of an evaluation: the trigger's partitions and thresholds; nothing to watch without a topic or a read", () => {
  const read: LagReadResult = {
    ok: true,
    topics: ["orders"],
    partitions: [
      { topic: "orders", partition: 0, committed: 5, latest: 10 },
      { topic: "orders", partition: 2, committed: 5, latest: 30 },
    ],
  };
  const t = kafkaTrigger({ activationLagThreshold: "3", partitionLimitation: "0,2" });
  const m = memoryFromEvaluation({
    replicas: 1,
    maxReplicaCount: 5,
    activated: true,
    kafka: [{ trigger: t, read, lag: 30 }],
  });
  assert.ok(m);
  assert.equal(m.replicas, 1);
  assert.equal(m.activated, true);
  assert.deepEqual(
    m.triggers[0]!.endOffsets,
    new Map([
      [0, 10],
      [2, 30],
    ]),
  );
  assert.equal(m.triggers[0]!.lag, 30);
  assert.equal(m.triggers[0]!.lagThreshold, 10);
  assert.equal(m.triggers[0]!.activationLagThreshold, 3);
  assert.equal(m.triggers[0]!.partitions, 2);
  assert.equal(m.triggers[0]!.clusterKey, clusterKey);

  const idle = memoryFromEvaluation({
    replicas: 1,
    maxReplicaCount: 5,
    activated: false,
    kafka: [{ trigger: kafkaTrigger({ allowIdleConsumers: "true" }), read, lag: 30 }],
  });
  assert.equal(idle?.triggers[0]!.partitions, undefined, "allowIdleConsumers: no partition cap");

  const none = (trigger: ParsedKafkaTrigger, r: typeof read | { ok: false; error: string }, lag?: number) =>
    memoryFromEvaluation({
      replicas: 1,
      maxReplicaCount: 5,
      activated: false,
      kafka: [{ trigger, read: r, lag }],
    });
  assert.equal(none(t, { ok: false, error: "down" }, undefined), undefined, "a failed read");
  assert.equal(none(t, read, undefined), undefined, "no lag computed");
  assert.equal(none(kafkaTrigger({ topic: "" }), read, 30), undefined, "no topic: nothing to watch");
});

test("early evaluations: once per object until its evaluation ends, none while one runs, memory only from a recorded evaluation", () => {
  const early = new EarlyEvaluations();
  const tick = (offsets: Map<number, number>): WatchTick => ({ at: 0, topics: [topicNow(offsets)] });
  const burst = ends(200, 200, 200, 200, 200);

  assert.deepEqual(early.onTick(tick(burst)), [], "nothing remembered yet");
  early.started("ns/a");
  early.record("ns/a", memory());
  assert.deepEqual(early.onTick(tick(burst)), [], "not while the evaluation runs");
  assert.equal(early.ended("ns/a"), undefined);
  assert.deepEqual(early.topics(), [{ cluster, topic: "orders" }]);

  const calls = early.onTick(tick(burst));
  assert.deepEqual(
    calls.map((c) => [c.key, c.call.reason]),
    [["ns/a", "activation"]],
  );
  assert.deepEqual(early.onTick(tick(burst)), [], "at most once until that evaluation ends");
  early.started("ns/a");
  assert.equal(early.pendingCall("ns/a")?.reason, "activation");
  early.record("ns/a", memory({ replicas: 5 }, { lag: 500, endOffsets: burst }));
  assert.equal(early.ended("ns/a")?.reason, "activation", "the evaluation answered the call");
  assert.deepEqual(early.onTick(tick(burst)), [], "answered");

  // An evaluation that records nothing (a failed check) leaves no memory: no early evaluation loop.
  early.started("ns/a");
  early.ended("ns/a");
  assert.deepEqual(early.onTick(tick(ends(900, 900, 900, 900, 900))), []);
  assert.deepEqual(early.topics(), []);

  early.started("ns/b");
  early.record("ns/b", memory());
  early.ended("ns/b");
  early.forget("ns/b");
  assert.deepEqual(early.onTick(tick(burst)), [], "a forgotten object");
});
