import assert from "node:assert/strict";
import { test } from "node:test";
import { validateScaledObject, type ResolvedScaledObject } from "../../core/crd/index.js";
import { decideScaledObject, initialScalingState } from "../../core/scaling/index.js";
import { parseTriggers, scalingSpecFor } from "./spec.js";
import {
  conditionList,
  seedStateFromStatus,
  statusAfterCheckFailure,
  statusAfterEvaluation,
} from "./status.js";
import { cronOutcome, kafkaOutcome } from "./triggers.js";

function resolved(spec: Record<string, unknown>): ResolvedScaledObject {
  const v = validateScaledObject({
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "so", namespace: "ns" },
    spec: { scaleTargetRef: { name: "consumer" }, triggers: [kafka()], ...spec },
  });
  if (!v.ok) assert.fail(v.errors.map((e) => `${e.path}: ${e.message}`).join("; "));
  return v.resolved;
}

function kafka(meta: Record<string, string> = {}) {
  return {
    type: "kafka",
    metadata: {
      bootstrapServers: "b:9092",
      consumerGroup: "g1",
      topic: "orders",
      lagThreshold: "10",
      ...meta,
    },
  };
}

test("CRD → ScalingSpec: KEDA's defaults, fallback behavior, HPA behavior", () => {
  const s = scalingSpecFor(resolved({}).spec);
  assert.ok(s.ok);
  assert.deepEqual(s.spec, {
    minReplicaCount: 0,
    maxReplicaCount: 100,
    cooldownPeriod: 300,
    initialCooldownPeriod: 0,
    pollingInterval: 30,
  });
  const t = scalingSpecFor(
    resolved({
      minReplicaCount: 1,
      maxReplicaCount: 5,
      idleReplicaCount: 0,
      cooldownPeriod: 30,
      pollingInterval: 10,
      fallback: { failureThreshold: 3, replicas: 2 },
      advanced: {
        restoreToOriginalReplicaCount: true,
        horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
      },
    }).spec,
  );
  assert.ok(t.ok);
  assert.deepEqual(t.spec, {
    minReplicaCount: 1,
    maxReplicaCount: 5,
    idleReplicaCount: 0,
    cooldownPeriod: 30,
    initialCooldownPeriod: 0,
    pollingInterval: 10,
    fallback: { failureThreshold: 3, replicas: 2, behavior: "static" },
    advanced: {
      restoreToOriginalReplicaCount: true,
      horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
    },
  });
});

test("scalingModifiers are refused with a message that says what to do", () => {
  const r = scalingSpecFor(
    resolved({ advanced: { scalingModifiers: { formula: "a + b", target: "2" } } }).spec,
  );
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error : "", /scalingModifiers is not supported by lagscale yet: remove it/);
});

test("triggers: metric names, scaler labels, all errors at once, unsupported SASL as a connect error", () => {
  const spec = resolved({
    triggers: [
      kafka(),
      { ...kafka({ sasl: "gssapi" }), name: "kerberos" },
      {
        type: "cron",
        metadata: { timezone: "Etc/UTC", start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "3" },
      },
    ],
  }).spec;
  const r = parseTriggers(spec.triggers, [
    {},
    { authParams: { username: "u", password: "p", realm: "R", kerberosConfig: "cfg" } },
    {},
  ]);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const [a, b, c] = r.triggers;
  assert.equal(a?.metricName, "s0-kafka-orders");
  assert.equal(a?.scaler, "kafkaScaler");
  assert.ok(a?.kind === "kafka" && a.request && a.request.consumerGroup === "g1");
  assert.ok(b?.kind === "kafka" && b.request === undefined && /gssapi/.test(b.connectError ?? ""));
  assert.equal(b?.scaler, "kerberos");
  assert.equal(c?.kind, "cron");
  assert.equal(c?.scaler, "cronScaler");

  const bad = parseTriggers(
    resolved({ triggers: [kafka({ lagThreshold: "ten" }), { type: "rabbitmq", metadata: {} }] }).spec
      .triggers,
    [],
  );
  assert.equal(bad.ok, false);
  const text = !bad.ok ? bad.errors.join("\n") : "";
  assert.match(text, /spec\.triggers\[0\] \(kafka\): .*lagThreshold/);
  assert.match(
    text,
    /spec\.triggers\[1\] \(rabbitmq\): trigger type "rabbitmq" is not supported by lagscale/,
  );
});

test("kafka outcome: the lag math with the persistent-lag memory; a failed read is an error input", () => {
  const r = parseTriggers(
    resolved({ triggers: [kafka({ excludePersistentLag: "true" })] }).spec.triggers,
    [],
  );
  assert.ok(r.ok && r.triggers[0]?.kind === "kafka");
  const t = r.triggers[0];
  assert.ok(t.kind === "kafka");
  const read = {
    ok: true as const,
    topics: ["orders"],
    partitions: [
      { topic: "orders", partition: 0, committed: 5, latest: 30 },
      { topic: "orders", partition: 1, committed: 10, latest: 12 },
    ],
  };
  const first = kafkaOutcome(t, read);
  assert.deepEqual(first.input, {
    name: "s0-kafka-orders",
    type: "kafka",
    target: 10,
    metricType: "AverageValue",
    metricValue: 20, // 25 + 2, capped at 2 partitions × 10
    active: true,
  });
  assert.equal(first.lag, 27);
  // Same committed offsets at the next evaluation: persistent lag, left out of the metric, still active.
  const second = kafkaOutcome(t, read, first.memory);
  assert.equal(second.input.metricValue, 0);
  assert.equal(second.input.active, true);
  const failed = kafkaOutcome(t, { ok: false, kind: "cluster", error: "connection refused" }, second.memory);
  assert.equal(failed.input.error, "s0-kafka-orders: connection refused");
  assert.equal(failed.input.metricValue, undefined);
  assert.equal(failed.memory, second.memory, "a failed read keeps the memory (D7)");
});

test("cron outcome: desiredReplicas against a target of 1", () => {
  const spec = resolved({
    triggers: [
      {
        type: "cron",
        metadata: { timezone: "Etc/UTC", start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "3" },
      },
    ],
  }).spec;
  const r = parseTriggers(spec.triggers, []);
  assert.ok(r.ok && r.triggers[0]?.kind === "cron");
  const t = r.triggers[0];
  assert.ok(t.kind === "cron");
  const inside = cronOutcome(t, new Date("2026-01-05T12:00:00Z"));
  assert.deepEqual([inside.input.metricValue, inside.input.active, inside.input.target], [3, true, 1]);
  const outside = cronOutcome(t, new Date("2026-01-05T20:00:00Z"));
  assert.deepEqual([outside.input.metricValue, outside.input.active], [0, false]);
});

test("state seeded from status: lastActiveTime, health, fallback and full pause", () => {
  const s = seedStateFromStatus({
    lastActiveTime: "2026-01-05T12:00:00Z",
    health: { "s0-kafka-orders": { numberOfFailures: 4, status: "Failing" } },
    conditions: [
      { type: "Ready", status: "True", reason: "ScaledObjectReady", message: "ok" },
      { type: "Fallback", status: "True", reason: "FallbackExists", message: "x" },
      { type: "Paused", status: "True", reason: "ScaledObjectPaused", message: "ScaledObject is paused" },
      { type: "Other", status: "True" },
    ],
  });
  assert.equal(s.lastActiveTime, Date.parse("2026-01-05T12:00:00Z"));
  assert.deepEqual(s.health, { "s0-kafka-orders": { numberOfFailures: 4, status: "Failing" } });
  assert.equal(s.fallbackActive, true);
  assert.equal(s.paused, true);
  assert.equal(s.conditions.Ready.status, "True");
  assert.equal(s.conditions.Active.status, "Unknown");
  // paused-scale-in sets Paused=True too, but does not pause
  const scaleIn = seedStateFromStatus({
    conditions: [
      {
        type: "Paused",
        status: "True",
        reason: "ScaledObjectPaused",
        message: "ScaledObject scale in is paused",
      },
    ],
  });
  assert.equal(scaleIn.paused, false);
  assert.deepEqual(seedStateFromStatus(undefined), initialScalingState());
});

test("status after an evaluation: KEDA's fields, printer-column fields, health only with fallback", () => {
  const spec = scalingSpecFor(resolved({ fallback: { failureThreshold: 3, replicas: 2 } }).spec);
  assert.ok(spec.ok);
  const result = decideScaledObject({
    spec: spec.spec,
    triggers: [
      {
        name: "s0-kafka-orders",
        type: "kafka",
        target: 10,
        metricType: "AverageValue",
        metricValue: 30,
        active: true,
      },
    ],
    currentReplicas: 1,
    now: Date.parse("2026-01-05T12:00:00.500Z"),
  });
  const changes = statusAfterEvaluation(
    {
      name: "so",
      conditions: result.state.conditions,
      state: result.state,
      fallbackConfigured: true,
      triggers: [{ metricName: "s0-kafka-orders", type: "kafka" }],
      activeTriggers: result.activeTriggers,
      authenticationRefs: ["kafka-auth", "kafka-auth"],
      target: { group: "apps", version: "v1", kind: "Deployment", resource: "deployments" },
      originalReplicaCount: 1,
      currentLag: 35,
      currentReplicas: 3,
    },
    undefined,
  );
  assert.deepEqual(changes, {
    scaleTargetKind: "apps/v1.Deployment",
    scaleTargetGVKR: { group: "apps", version: "v1", kind: "Deployment", resource: "deployments" },
    conditions: conditionList(result.state.conditions),
    externalMetricNames: ["s0-kafka-orders"],
    triggersTypes: "kafka",
    hpaName: "keda-hpa-so",
    currentReplicas: 3,
    pausedReplicaCount: null,
    lastActiveTime: "2026-01-05T12:00:00Z",
    authenticationsTypes: "kafka-auth",
    triggersActivity: { "s0-kafka-orders": { isActive: true } },
    health: { "s0-kafka-orders": { numberOfFailures: 0, status: "Happy" } },
    currentLag: 35,
    originalReplicaCount: 1,
  });
  assert.deepEqual(
    conditionList(result.state.conditions).map((c) => [c.type, c.status, c.reason]),
    [
      ["Ready", "True", "ScaledObjectReady"],
      ["Active", "True", "ScalerActive"],
      ["Fallback", "False", "NoFallbackFound"],
      ["Paused", "False", "ScaledObjectUnpaused"],
    ],
  );
  // originalReplicaCount is captured once; health is removed without fallback
  const again = statusAfterEvaluation(
    {
      name: "so",
      conditions: result.state.conditions,
      state: result.state,
      fallbackConfigured: false,
      triggers: [],
      activeTriggers: [],
      authenticationRefs: [],
      target: { group: "", version: "v1", kind: "ReplicationController", resource: "replicationcontrollers" },
      originalReplicaCount: 7,
      pausedReplicas: 2,
      currentReplicas: 2,
    },
    { originalReplicaCount: 1 },
  );
  assert.equal(again.originalReplicaCount, undefined);
  assert.equal(again.health, null);
  assert.equal(again.authenticationsTypes, null);
  assert.equal(again.pausedReplicaCount, 2);
  assert.equal(again.scaleTargetKind, "v1.ReplicationController");
});

test("status after a failed check: Ready False with the reason, Active unknown", () => {
  assert.deepEqual(statusAfterCheckFailure("ScaledObjectCheckFailed", "Target resource doesn't exist"), {
    conditions: [
      {
        type: "Ready",
        status: "False",
        reason: "ScaledObjectCheckFailed",
        message: "Target resource doesn't exist",
      },
      { type: "Active", status: "Unknown", reason: "UnknownState", message: "ScaledObject check failed" },
    ],
  });
});
