/**
 * The ScaledObject decision. The first tables port, as data, the cases of KEDA's executor tests
 * (pkg/scaling/executor/scale_scaledobjects_test.go) and fallback tests (pkg/fallback/fallback_test.go); the
 * rest pin the rules of keda-semantics.md §2.4-2.10 and the rows D5 and D6 of KEDA-DIFFERENCES.md.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decideScaledObject,
  initialScalingState,
  type DecideInput,
  type DecideResult,
  type ScalingState,
  type TriggerInput,
} from "./decide.js";
import { scalingSpecWithDefaults, type ScalingSpecInput } from "./spec.js";
import { emptyHPAHistory } from "./hpa.js";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const S = 1000;

function lag(value: number, name = "s0-kafka-orders", target = 10): TriggerInput {
  return { name, type: "kafka", metricValue: value, target, metricType: "AverageValue", active: value > 0 };
}
function failing(
  error = "kafka: client has run out of available brokers",
  name = "s0-kafka-orders",
): TriggerInput {
  return { name, type: "kafka", target: 10, metricType: "AverageValue", error };
}
function decide(
  specInput: ScalingSpecInput,
  rest: Partial<Omit<DecideInput, "spec">> & { currentReplicas: number },
): DecideResult {
  return decideScaledObject({
    spec: scalingSpecWithDefaults(specInput),
    triggers: [lag(0)],
    now: NOW,
    history: running(),
    ...rest,
  });
}
/** The state of an object this controller has been evaluating: its HPA has memory (empty here). */
function running(): ScalingState {
  return { ...initialScalingState(), hpa: emptyHPAHistory() };
}
function withLastActive(t: number | undefined): ScalingState {
  const s = running();
  if (t !== undefined) s.lastActiveTime = t;
  return s;
}
/** The replica count after the decision is applied. */
const after = (r: DecideResult, cur: number): number =>
  r.decision.kind === "scale" ? r.decision.replicas : cur;

describe("ScaledObject decision: KEDA executor cases (scale_scaledobjects_test.go)", () => {
  interface Case {
    name: string;
    spec: ScalingSpecInput;
    cur: number;
    triggers: TriggerInput[];
    pause?: DecideInput["pause"];
    want: number | "hold";
    active?: [string, string, string?];
    ready?: [string, string];
    lastActiveSet?: boolean;
  }
  const cases: Case[] = [
    {
      name: "TestScaleToMinReplicasWhenNotActive",
      spec: { minReplicaCount: 0 },
      cur: 10,
      triggers: [lag(0)],
      want: 0,
      active: ["False", "ScalerNotActive"],
    },
    {
      name: "TestScaleToMinReplicasFromLowerInitialReplicaCount",
      spec: { minReplicaCount: 5 },
      cur: 1,
      triggers: [lag(0)],
      want: 5,
      active: ["False", "ScalerNotActive"],
    },
    {
      name: "TestScaleFromMinReplicasWhenActive",
      spec: { minReplicaCount: 0 },
      cur: 0,
      triggers: [lag(5)],
      want: 1,
      active: ["True", "ScalerActive", "Scaling is performed because triggers are active"],
      lastActiveSet: true,
    },
    {
      name: "TestScaleToIdleReplicasWhenNotActive",
      spec: { idleReplicaCount: 0, minReplicaCount: 5 },
      cur: 10,
      triggers: [lag(0)],
      want: 0,
      active: ["False", "ScalerNotActive"],
    },
    {
      name: "TestScaleFromIdleToMinReplicasWhenActive",
      spec: { idleReplicaCount: 0, minReplicaCount: 5 },
      cur: 0,
      triggers: [lag(5)],
      want: 5,
      active: ["True", "ScalerActive", "Scaling is performed because triggers are active"],
      lastActiveSet: true,
    },
    {
      name: "TestNoScaleToMinReplicasWhenNotActiveAndPauseScaleInAnnotationSet",
      spec: { minReplicaCount: 0 },
      cur: 10,
      triggers: [lag(0)],
      pause: { paused: false, pausedScaleIn: true },
      want: "hold",
      active: ["False", "ScalerNotActive"],
    },
    {
      name: "TestNoScaleToIdleReplicasWhenNotActiveAndPauseScaleInAnnotationSet",
      spec: { idleReplicaCount: 0, minReplicaCount: 5 },
      cur: 10,
      triggers: [lag(0)],
      pause: { paused: false, pausedScaleIn: true },
      want: "hold",
      active: ["False", "ScalerNotActive"],
    },
    {
      name: "TestScaleFromMinReplicasWhenActivationForced",
      spec: { minReplicaCount: 0 },
      cur: 0,
      triggers: [lag(0)],
      pause: { paused: false, forceActivation: true },
      want: 1,
      active: [
        "True",
        "ScalerActive",
        "Scaling is performed because activation is being forced by annotation",
      ],
      lastActiveSet: true,
    },
    {
      name: "TestNoScaleFromMinReplicasWhenActiveAndPausedScaleOutAnnotationSet",
      spec: { minReplicaCount: 0 },
      cur: 0,
      triggers: [lag(5)],
      pause: { paused: false, pausedScaleOut: true },
      want: "hold",
      active: ["True", "ScalerActive"],
    },
    {
      name: "TestNoScaleFromIdleReplicasToMinReplicasWhenActiveAndPausedScaleOutAnnotationSet",
      spec: { idleReplicaCount: 0, minReplicaCount: 5, maxReplicaCount: 10 },
      cur: 0,
      triggers: [lag(5)],
      pause: { paused: false, pausedScaleOut: true },
      want: "hold",
      active: ["True", "ScalerActive"],
    },
    {
      name: "TestRequestScale_AllHealthy_HPAHealthy",
      spec: { minReplicaCount: 1 },
      cur: 1,
      triggers: [lag(5)],
      want: "hold",
      ready: ["True", "ScaledObjectReady"],
      lastActiveSet: true,
    },
    {
      name: "TestRequestScale_ScalerError_HPAHealthy",
      spec: { minReplicaCount: 1 },
      cur: 1,
      triggers: [failing()],
      want: "hold",
      ready: ["False", "TriggerError"],
    },
    {
      name: "TestRequestScale_PartialError_HPAHealthy",
      spec: { minReplicaCount: 1 },
      cur: 1,
      triggers: [lag(5), failing("boom", "s1-kafka-other")],
      want: "hold",
      ready: ["Unknown", "PartialTriggerError"],
      lastActiveSet: false,
    },
    // KEDA's test passes isError without a failure history; here the threshold is not reached yet (row I1).
    {
      name: "TestRequestScale_ScalerErrorWithFallback_HPAHealthy",
      spec: { minReplicaCount: 1, fallback: { failureThreshold: 3, replicas: 5 } },
      cur: 1,
      triggers: [failing()],
      want: "hold",
      ready: ["True", "ScaledObjectReady"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = decide(c.spec, {
        currentReplicas: c.cur,
        triggers: c.triggers,
        ...(c.pause ? { pause: c.pause } : {}),
      });
      if (c.want === "hold") assert.equal(r.decision.kind, "hold", JSON.stringify(r.decision));
      else
        assert.deepEqual([r.decision.kind, after(r, c.cur)], ["scale", c.want], JSON.stringify(r.decision));
      if (c.active) {
        assert.equal(r.conditions.Active.status, c.active[0]);
        assert.equal(r.conditions.Active.reason, c.active[1]);
        if (c.active[2]) assert.equal(r.conditions.Active.message, c.active[2]);
      }
      if (c.ready) assert.deepEqual([r.conditions.Ready.status, r.conditions.Ready.reason], c.ready);
      if (c.lastActiveSet !== undefined) assert.equal(r.state.lastActiveTime === NOW, c.lastActiveSet);
    });
  }

  it("TestScaleToPausedReplicasCount: paused-replicas sets Paused and skips the triggers", () => {
    const r = decide(
      {},
      { currentReplicas: 2, triggers: [lag(5)], pause: { paused: false, pausedReplicas: 0 } },
    );
    assert.deepEqual(r.decision, {
      kind: "scale",
      replicas: 0,
      reason: "paused-replicas",
      message: "paused at 0 replicas",
    });
    assert.deepEqual(
      [r.conditions.Paused.status, r.conditions.Paused.reason],
      ["True", "ScaledObjectPaused"],
    );
    assert.notEqual(r.conditions.Active.status, "True");
  });

  it("TestEventWitTriggerInfo: the activation event names the triggers", () => {
    const r = decide(
      { idleReplicaCount: 0, minReplicaCount: 5 },
      { currentReplicas: 2, triggers: [lag(5, "testTrigger")], targetRef: " namespace/name" },
    );
    assert.deepEqual(r.eventsIfScaled, [
      {
        type: "Normal",
        reason: "KEDAScaleTargetActivated",
        message: "Scaled  namespace/name from 2 to 5, triggered by testTrigger",
      },
    ]);
    assert.equal(r.eventIfScaleFails?.reason, "KEDAScaleTargetActivationFailed");
    assert.equal(
      r.stateIfScaleFails.lastActiveTime,
      undefined,
      "lastActiveTime is recorded only once the scale succeeded",
    );
  });

  it("the deactivation event and its failure event", () => {
    const r = decide({}, { currentReplicas: 4, targetRef: "apps/v1.Deployment default/consumer" });
    assert.deepEqual(r.eventsIfScaled, [
      {
        type: "Normal",
        reason: "KEDAScaleTargetDeactivated",
        message: "Deactivated apps/v1.Deployment default/consumer from 4 to 0",
      },
    ]);
    assert.equal(r.eventIfScaleFails?.reason, "KEDAScaleTargetDeactivationFailed");
  });
});

describe("ScaledObject decision: activation, min, idle (§2.4, §2.5)", () => {
  it("any active trigger activates the ScaledObject", () => {
    const r = decide({}, { currentReplicas: 0, triggers: [lag(0, "s0-kafka-a"), lag(3, "s1-kafka-b")] });
    assert.deepEqual([after(r, 0), r.isActive, r.activeTriggers], [1, true, ["s1-kafka-b"]]);
  });
  it("a trigger with lag but not active (lag <= activationLagThreshold) does not wake the target from 0", () => {
    const t = { ...lag(5), active: false };
    const r = decide({}, { currentReplicas: 0, triggers: [t] });
    assert.equal(r.decision.kind, "hold");
    assert.equal(r.isActive, false);
  });
  it("activation goes to minReplicaCount when it is above 0", () => {
    assert.equal(after(decide({ minReplicaCount: 3 }, { currentReplicas: 0, triggers: [lag(500)] }), 0), 3);
  });
  it("activation from 0 does not apply the HPA in the same evaluation; the next one does", () => {
    const first = decide({ maxReplicaCount: 10 }, { currentReplicas: 0, triggers: [lag(80)] });
    assert.equal(after(first, 0), 1);
    const second = decide(
      { maxReplicaCount: 10 },
      { currentReplicas: 1, triggers: [lag(80)], history: first.state, now: NOW + 15 * S },
    );
    assert.deepEqual([second.decision.kind, after(second, 1), second.decision.reason], ["scale", 5, "hpa"]);
  });
  it("idle mode: active with replicas below min (but above idle) goes to min", () => {
    assert.equal(
      after(
        decide({ idleReplicaCount: 0, minReplicaCount: 4 }, { currentReplicas: 2, triggers: [lag(5)] }),
        2,
      ),
      4,
    );
  });
  it("inactive, min 0, already at 0: nothing to do", () => {
    const r = decide({}, { currentReplicas: 0 });
    assert.deepEqual([r.decision.kind, r.decision.reason], ["hold", "no-change"]);
  });
  it("inactive with min > 0 and no idle: the HPA brings replicas down to min, not 0", () => {
    const r = decide({ minReplicaCount: 2 }, { currentReplicas: 6 });
    assert.deepEqual([r.decision.kind, after(r, 6)], ["scale", 2]);
  });
  it("active: replicas are kept within [max(1, min), max]", () => {
    const r = decide(
      { minReplicaCount: 0, maxReplicaCount: 7 },
      { currentReplicas: 9, triggers: [lag(1000)] },
    );
    assert.equal(after(r, 9), 7);
  });
  it("multiple triggers: the largest proposal wins (cron and kafka alike)", () => {
    const cron: TriggerInput = {
      name: "s1-cron-UTC-08xx",
      type: "cron",
      metricValue: 6,
      target: 1,
      metricType: "AverageValue",
      active: true,
    };
    const r = decide({}, { currentReplicas: 3, triggers: [lag(30), cron] });
    assert.deepEqual(r.hpa?.proposals, [3, 6]);
    assert.equal(after(r, 3), 6);
  });
  it("custom behavior from advanced.horizontalPodAutoscalerConfig.behavior is used", () => {
    const spec: ScalingSpecInput = {
      advanced: {
        horizontalPodAutoscalerConfig: {
          behavior: { scaleUp: { policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] } },
        },
      },
    };
    assert.equal(after(decide(spec, { currentReplicas: 2, triggers: [lag(100)] }), 2), 3);
    assert.equal(after(decide({}, { currentReplicas: 2, triggers: [lag(100)] }), 2), 6);
  });
});

describe("ScaledObject decision: cooldown and initialCooldownPeriod (§2.6)", () => {
  it("deactivation waits cooldownPeriod after the last active evaluation (strictly greater)", () => {
    const base = { currentReplicas: 1, triggers: [lag(0)] };
    const cooling = decide({ cooldownPeriod: 300 }, { ...base, history: withLastActive(NOW - 300 * S) });
    assert.deepEqual([cooling.decision.kind, cooling.decision.reason], ["hold", "cooldown"]);
    assert.deepEqual(
      [cooling.conditions.Active.status, cooling.conditions.Active.reason],
      ["False", "ScalerCooldown"],
    );
    const done = decide({ cooldownPeriod: 300 }, { ...base, history: withLastActive(NOW - 300 * S - 1) });
    assert.deepEqual([done.decision.kind, after(done, 1), done.decision.reason], ["scale", 0, "deactivate"]);
    assert.equal(done.conditions.Active.reason, "ScalerNotActive");
  });
  it("cooldown counts from the last active evaluation, not the first inactive one", () => {
    const spec = { cooldownPeriod: 60 };
    let r = decide(spec, { currentReplicas: 2, triggers: [lag(20)] });
    assert.equal(r.state.lastActiveTime, NOW);
    r = decide(spec, { currentReplicas: 2, triggers: [lag(15)], history: r.state, now: NOW + 50 * S });
    assert.equal(r.state.lastActiveTime, NOW + 50 * S);
    r = decide(spec, { currentReplicas: 2, triggers: [lag(0)], history: r.state, now: NOW + 100 * S });
    assert.equal(r.decision.reason, "cooldown");
    r = decide(spec, { currentReplicas: 2, triggers: [lag(0)], history: r.state, now: NOW + 111 * S });
    assert.deepEqual([after(r, 2), r.decision.reason], [0, "deactivate"]);
  });
  it("during cooldown the HPA still scales down, but never below 1", () => {
    const r = decide({ cooldownPeriod: 300 }, { currentReplicas: 5, history: withLastActive(NOW - 10 * S) });
    assert.deepEqual([r.decision.kind, after(r, 5), r.decision.reason], ["scale", 1, "hpa"]);
    assert.equal(r.conditions.Active.reason, "ScalerCooldown");
  });
  it("initialCooldownPeriod: with no lastActiveTime, wait that long after creation (strictly greater)", () => {
    const spec = { initialCooldownPeriod: 60 };
    const young = decide(spec, { currentReplicas: 1, createdAt: NOW - 60 * S });
    assert.deepEqual([young.decision.kind, young.decision.reason], ["hold", "cooldown"]);
    const old = decide(spec, { currentReplicas: 1, createdAt: NOW - 61 * S });
    assert.equal(after(old, 1), 0);
  });
  it("without lastActiveTime and initialCooldownPeriod 0 the target is deactivated at once", () => {
    assert.equal(after(decide({}, { currentReplicas: 3, createdAt: NOW - 1 }), 3), 0);
  });
  it("deactivation goes to idleReplicaCount when set, bypassing the HPA's policies", () => {
    const r = decide(
      { idleReplicaCount: 0, minReplicaCount: 3, cooldownPeriod: 10 },
      { currentReplicas: 8, history: withLastActive(NOW - 11 * S) },
    );
    assert.deepEqual([after(r, 8), r.decision.reason], [0, "deactivate"]);
  });
});

describe("ScaledObject decision: fallback (fallback_test.go, §2.9)", () => {
  const fb = (
    failureThreshold: number,
    replicas: number,
    behavior?: "static" | "currentReplicas" | "currentReplicasIfHigher" | "currentReplicasIfLower",
  ) => ({
    fallback: { failureThreshold, replicas, ...(behavior ? { behavior } : {}) },
  });
  const withHealth = (
    n: number,
    status: "Happy" | "Failing" = n > 0 ? "Failing" : "Happy",
  ): ScalingState => ({
    ...running(),
    health: { "s0-kafka-orders": { numberOfFailures: n, status } },
  });

  it("should return the expected metric when fallback is disabled", () => {
    const r = decide({}, { currentReplicas: 1, triggers: [lag(5, "s0-kafka-orders", 3)] });
    assert.deepEqual(r.hpa?.proposals, [2]);
    assert.deepEqual(r.state.health, {}, "health is only kept with a fallback, as in KEDA's status");
  });
  it("should reset the health status when scaler metrics are available", () => {
    const r = decide(fb(3, 10), { currentReplicas: 1, triggers: [lag(6)], history: withHealth(5) });
    assert.deepEqual(r.state.health["s0-kafka-orders"], { numberOfFailures: 0, status: "Happy" });
  });
  it("should propagate the error when fallback is disabled", () => {
    const r = decide({}, { currentReplicas: 1, triggers: [failing("some error")] });
    assert.equal(r.isError, true);
    assert.deepEqual(r.events, [{ type: "Warning", reason: "KEDAScalerFailed", message: "some error" }]);
  });
  it("should bump the number of failures when metrics call fails", () => {
    const r = decide(fb(3, 10), {
      currentReplicas: 1,
      triggers: [failing("some error")],
      history: withHealth(0),
    });
    assert.deepEqual(r.state.health["s0-kafka-orders"], { numberOfFailures: 1, status: "Failing" });
    assert.deepEqual([r.isError, r.fallbackTriggers], [true, []]);
  });
  it("should return a normalised metric when number of failures are beyond threshold", () => {
    const r = decide(fb(3, 10), {
      currentReplicas: 10,
      triggers: [failing("some error")],
      history: withHealth(3),
    });
    assert.deepEqual(r.state.health["s0-kafka-orders"], { numberOfFailures: 4, status: "Failing" });
    assert.deepEqual(r.hpa?.proposals, [10], "metric 100 (target 10 × 10 replicas) proposes 10");
    assert.deepEqual([r.isError, r.isActive, r.fallbackTriggers], [false, true, ["s0-kafka-orders"]]);
  });
  it("should return error when fallback is enabled but scaledobject has invalid parameter", () => {
    const r = decide(fb(-3, 10), {
      currentReplicas: 1,
      triggers: [failing("some error")],
      history: withHealth(3),
    });
    assert.deepEqual([r.isError, r.fallbackTriggers], [true, []]);
    assert.equal(r.conditions.Fallback.status, "False");
  });
  it("should set the fallback condition when a fallback exists in the scaled object", () => {
    const r = decide(fb(3, 10), { currentReplicas: 2, triggers: [failing()], history: withHealth(3) });
    assert.deepEqual(
      [r.conditions.Fallback.status, r.conditions.Fallback.reason],
      ["True", "FallbackExists"],
    );
    assert.ok(r.events.some((e) => e.reason === "ScaledObjectFallbackActivated"));
    const back = decide(fb(3, 10), { currentReplicas: 5, triggers: [lag(5)], history: r.state });
    assert.deepEqual(
      [back.conditions.Fallback.status, back.conditions.Fallback.reason],
      ["False", "NoFallbackFound"],
    );
    assert.ok(back.events.some((e) => e.reason === "ScaledObjectFallbackDeactivated"));
  });

  const behaviours = [
    { behavior: "static", cur: 5, want: 10 },
    { behavior: "static", cur: 15, want: 10 },
    { behavior: "currentReplicas", cur: 5, want: 5 },
    { behavior: "currentReplicas", cur: 15, want: 15 },
    { behavior: "currentReplicasIfHigher", cur: 5, want: 10 },
    { behavior: "currentReplicasIfHigher", cur: 15, want: 15 },
    { behavior: "currentReplicasIfLower", cur: 5, want: 5 },
    { behavior: "currentReplicasIfLower", cur: 15, want: 10 },
  ] as const;
  for (const c of behaviours) {
    it(`fallback behavior ${c.behavior} at ${c.cur} replicas (fallback.replicas 10) asks for ${c.want}`, () => {
      const r = decide(
        { ...fb(2, 10, c.behavior), maxReplicaCount: 50 },
        { currentReplicas: c.cur, triggers: [failing()], history: withHealth(2) },
      );
      assert.deepEqual(r.hpa?.proposals, [c.want]);
    });
  }
  it("a Value target's fallback metric is divided by the ready pods; with none ready the fallback fails", () => {
    const valueTrigger = { ...failing(), metricType: "Value" as const };
    const r = decide(fb(0, 10), { currentReplicas: 5, readyReplicas: 4, triggers: [valueTrigger] });
    assert.deepEqual(r.hpa?.proposals, [10]);
    const none = decide(fb(0, 10), { currentReplicas: 5, readyReplicas: 0, triggers: [valueTrigger] });
    assert.deepEqual([none.isError, none.fallbackTriggers], [true, []]);
  });
  it("a trigger in fallback counts as active, so a target at 0 is activated", () => {
    const r = decide(fb(0, 4), { currentReplicas: 0, triggers: [failing()] });
    assert.deepEqual([r.decision.reason, after(r, 0)], ["activate", 1]);
    const next = decide(fb(0, 4), {
      currentReplicas: 1,
      triggers: [failing()],
      history: r.state,
      now: NOW + 15 * S,
    });
    assert.equal(after(next, 1), 4);
  });
  it("before the threshold, an inactive erroring ScaledObject with fallback is never scaled down (row I1)", () => {
    const r = decide(
      { ...fb(5, 3), cooldownPeriod: 0 },
      { currentReplicas: 6, triggers: [failing()], history: withLastActive(NOW - 3600 * S) },
    );
    assert.deepEqual([r.decision.kind, r.decision.reason], ["hold", "trigger-error"]);
  });
});

describe("D5 and D6: failed reads", () => {
  it("D5: an unreachable Kafka is a failed read: it counts toward fallback.failureThreshold and the fallback takes over", () => {
    const spec = { fallback: { failureThreshold: 2, replicas: 6 }, maxReplicaCount: 20 };
    let state: ScalingState | undefined;
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = decide(spec, {
        currentReplicas: 3,
        triggers: [failing("connect ECONNREFUSED 10.0.0.9:9092")],
        now: NOW + i * 30 * S,
        ...(state ? { history: state } : {}),
      });
      state = r.state;
      seen.push(
        `${r.state.health["s0-kafka-orders"]!.numberOfFailures}:${r.fallbackTriggers.length}:${after(r, 3)}`,
      );
    }
    assert.deepEqual(seen, ["1:0:3", "2:0:3", "3:1:6", "4:1:6"]);
  });
  it("D5: never scaled to zero while a trigger errors, without fallback", () => {
    const r = decide(
      { cooldownPeriod: 0 },
      { currentReplicas: 3, triggers: [failing()], history: withLastActive(NOW - 3600 * S) },
    );
    assert.notEqual(after(r, 3), 0);
    assert.deepEqual([r.decision.kind, r.decision.reason], ["hold", "trigger-error"]);
  });
  it("D5: never scaled to zero while a trigger errors, even with fallback.replicas 0 (KEDA would deactivate)", () => {
    const r = decide(
      { cooldownPeriod: 0, fallback: { failureThreshold: 3, replicas: 0 } },
      { currentReplicas: 3, triggers: [failing()], history: withLastActive(NOW - 3600 * S) },
    );
    assert.deepEqual([r.decision.kind, r.decision.reason], ["hold", "trigger-error"]);
  });
  it("D5: never scaled to idle while one trigger errors and the other has no lag", () => {
    const r = decide(
      {
        idleReplicaCount: 0,
        minReplicaCount: 2,
        cooldownPeriod: 0,
        fallback: { failureThreshold: 3, replicas: 0 },
      },
      {
        currentReplicas: 4,
        triggers: [lag(0, "s0-kafka-a"), failing("boom", "s1-kafka-b")],
        history: withLastActive(NOW - 3600 * S),
      },
    );
    assert.equal(r.decision.kind, "hold");
  });
  it("D5: with an erroring trigger the other triggers may still scale up, never down", () => {
    const base = { currentReplicas: 3, history: withLastActive(NOW) };
    const up = decide({}, { ...base, triggers: [lag(80, "s0-kafka-a"), failing("boom", "s1-kafka-b")] });
    assert.equal(after(up, 3), 7, "ceil(80 / 10) = 8, limited to 3 + 4 pods per 15 s");
    const down = decide({}, { ...base, triggers: [lag(10, "s0-kafka-a"), failing("boom", "s1-kafka-b")] });
    assert.equal(after(down, 3), 3);
  });
  it("D6: one failure is counted per evaluation, whatever else reads the trigger", () => {
    let state: ScalingState | undefined;
    for (let i = 1; i <= 5; i++) {
      const r = decide(
        { fallback: { failureThreshold: 10, replicas: 2 } },
        {
          currentReplicas: 1,
          triggers: [failing(), failing("boom", "s1-kafka-b")],
          now: NOW + i * S,
          ...(state ? { history: state } : {}),
        },
      );
      state = r.state;
      assert.deepEqual(
        Object.values(r.state.health).map((h) => h.numberOfFailures),
        [i, i],
      );
    }
  });
  it("D6: fallback starts at evaluation failureThreshold + 1, not earlier", () => {
    let state: ScalingState | undefined;
    const inFallback: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const r = decide(
        { fallback: { failureThreshold: 3, replicas: 2 } },
        { currentReplicas: 1, triggers: [failing()], ...(state ? { history: state } : {}) },
      );
      state = r.state;
      inFallback.push(r.fallbackTriggers.length > 0);
    }
    assert.deepEqual(inFallback, [false, false, false, true]);
  });
});

describe("ScaledObject decision: pause (§2.10)", () => {
  it("paused holds at the current count, emits ScaledObjectPaused once, and unpausing resumes", () => {
    const p1 = decide({}, { currentReplicas: 4, triggers: [lag(0)], pause: { paused: true } });
    assert.deepEqual([p1.decision.kind, p1.decision.reason], ["hold", "paused"]);
    assert.deepEqual(
      p1.events.map((e) => e.reason),
      ["ScaledObjectPaused"],
    );
    assert.deepEqual(
      [p1.conditions.Paused.status, p1.conditions.Paused.reason, p1.conditions.Paused.message],
      ["True", "ScaledObjectPaused", "ScaledObject is paused"],
    );
    const p2 = decide(
      {},
      { currentReplicas: 4, triggers: [failing()], pause: { paused: true }, history: p1.state },
    );
    assert.deepEqual(p2.events, [], "no second Paused event, and triggers are not evaluated while paused");
    const u = decide({}, { currentReplicas: 4, triggers: [lag(0)], history: p2.state });
    assert.deepEqual(
      u.events.map((e) => e.reason),
      ["ScaledObjectUnpaused"],
    );
    assert.deepEqual(
      [u.conditions.Paused.status, u.conditions.Paused.reason],
      ["False", "ScaledObjectUnpaused"],
    );
    assert.equal(after(u, 4), 0, "unpaused, inactive, no lastActiveTime: deactivated");
  });
  it("paused-replicas scales to N once, then holds", () => {
    const a = decide(
      {},
      { currentReplicas: 5, triggers: [lag(100)], pause: { paused: false, pausedReplicas: 3 } },
    );
    assert.deepEqual([a.decision.kind, after(a, 5)], ["scale", 3]);
    const b = decide(
      {},
      {
        currentReplicas: 3,
        triggers: [lag(100)],
        pause: { paused: false, pausedReplicas: 3 },
        history: a.state,
      },
    );
    assert.deepEqual([b.decision.kind, b.decision.reason], ["hold", "paused"]);
  });
  it("pausing forgets the HPA's history, as deleting the HPA does", () => {
    const active = decide({}, { currentReplicas: 2, triggers: [lag(50)] });
    assert.ok((active.state.hpa?.recommendations.length ?? 0) > 0);
    const p = decide({}, { currentReplicas: 5, pause: { paused: true }, history: active.state });
    assert.equal(p.state.hpa, undefined);
  });
  it("paused-scale-out also stops the raise to minReplicaCount from 0 (KEDA raises it; the annotation says no scale-out)", () => {
    const r = decide(
      { minReplicaCount: 2 },
      { currentReplicas: 0, pause: { paused: false, pausedScaleOut: true } },
    );
    assert.deepEqual([r.decision.kind, r.decision.reason], ["hold", "scale-out-paused"]);
    const below = decide(
      { minReplicaCount: 2 },
      { currentReplicas: 1, pause: { paused: false, pausedScaleOut: true } },
    );
    assert.equal(
      after(below, 1),
      2,
      "above 0 the HPA's own min bound still applies, as for an HPA with scaleUp Disabled",
    );
  });
  it("paused-scale-out keeps the HPA from scaling up; paused-scale-in from scaling down", () => {
    const out = decide(
      {},
      { currentReplicas: 2, triggers: [lag(100)], pause: { paused: false, pausedScaleOut: true } },
    );
    assert.equal(after(out, 2), 2);
    assert.equal(out.conditions.Paused.status, "True");
    const inn = decide(
      {},
      { currentReplicas: 6, triggers: [lag(10)], pause: { paused: false, pausedScaleIn: true } },
    );
    assert.equal(after(inn, 6), 6);
  });
});

describe("ScaledObject decision: what sidecar reports add", () => {
  it("stalled partitions' lag is not work: it is subtracted before the HPA math", () => {
    const without = decide({}, { currentReplicas: 2, triggers: [lag(100)] });
    const withStalled = decide(
      {},
      { currentReplicas: 2, triggers: [lag(100)], reports: { stalledLag: { "s0-kafka-orders": 60 } } },
    );
    assert.deepEqual([without.hpa?.proposals, withStalled.hpa?.proposals], [[10], [4]]);
    const allStalled = decide(
      {},
      { currentReplicas: 2, triggers: [lag(100)], reports: { stalledLag: { "s0-kafka-orders": 500 } } },
    );
    assert.deepEqual(allStalled.hpa?.proposals, [0]);
    assert.equal(after(allStalled, 2), 1, "the trigger stays active, so one consumer remains");
  });
  it("during a rebalance the decision holds still and the HPA records nothing, unless it scales up", () => {
    const r = decide({}, { currentReplicas: 4, triggers: [lag(20)], reports: { rebalancing: true } });
    assert.deepEqual([r.decision.kind, r.decision.reason], ["hold", "rebalancing"], "no scale-in");
    assert.deepEqual(r.state.hpa?.recommendations, []);
    const steady = decide({}, { currentReplicas: 2, triggers: [lag(20)], reports: { rebalancing: true } });
    assert.deepEqual([steady.decision.kind, steady.decision.reason], ["hold", "rebalancing"]);
    assert.deepEqual(steady.state.hpa?.recommendations, []);
    // New pods join the rebalance under way; waiting for its end would start another one.
    const up = decide({}, { currentReplicas: 2, triggers: [lag(100)], reports: { rebalancing: true } });
    assert.deepEqual(
      [up.decision.kind, after(up, 2)],
      ["scale", 6],
      "lag asks 10; the scale-up policy allows 2 + 4",
    );
    const deact = decide({}, { currentReplicas: 2, triggers: [lag(0)], reports: { rebalancing: true } });
    assert.deepEqual([deact.decision.kind, deact.decision.reason], ["hold", "rebalancing"]);
  });
  it("a rebalance report does not stop activation from 0 (no pod is there to rebalance)", () => {
    const r = decide({}, { currentReplicas: 0, triggers: [lag(5)], reports: { rebalancing: true } });
    assert.deepEqual([r.decision.reason, after(r, 0)], ["activate", 1]);
  });
});

describe("ScaledObject decision: state handling", () => {
  it("the state returned for a failed scale keeps the HPA's recommendation but not its scale event", () => {
    const r = decide({}, { currentReplicas: 2, triggers: [lag(100)], history: withLastActive(NOW - S) });
    assert.equal(r.decision.kind, "scale");
    assert.equal(r.state.hpa?.scaleUpEvents.length, 1);
    assert.equal(r.stateIfScaleFails.hpa?.scaleUpEvents.length, 0);
    assert.deepEqual(r.stateIfScaleFails.hpa?.recommendations, r.state.hpa?.recommendations);
  });
  it("the input state is not modified", () => {
    const history = withLastActive(NOW - 1000 * S);
    const copy = structuredClone(history);
    decide(
      { fallback: { failureThreshold: 1, replicas: 3 } },
      { currentReplicas: 3, triggers: [failing()], history },
    );
    decide({}, { currentReplicas: 3, triggers: [lag(90)], history });
    assert.deepEqual(history, copy);
  });
});

describe("ScaledObject decision: properties", () => {
  const arbSpec = fc
    .record({
      min: fc.integer({ min: 0, max: 5 }),
      span: fc.integer({ min: 0, max: 15 }),
      idle: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
      cooldown: fc.integer({ min: 0, max: 600 }),
      initialCooldown: fc.integer({ min: 0, max: 120 }),
      fallback: fc.option(
        fc.record({
          failureThreshold: fc.integer({ min: 0, max: 3 }),
          replicas: fc.integer({ min: 0, max: 12 }),
          behavior: fc.constantFrom(
            "static" as const,
            "currentReplicas" as const,
            "currentReplicasIfHigher" as const,
            "currentReplicasIfLower" as const,
          ),
        }),
        { nil: undefined },
      ),
    })
    .map(({ min, span, idle, cooldown, initialCooldown, fallback }) => {
      const spec: ScalingSpecInput = {
        minReplicaCount: min,
        maxReplicaCount: Math.max(1, min + span),
        cooldownPeriod: cooldown,
        initialCooldownPeriod: initialCooldown,
      };
      if (idle !== undefined && idle < min) spec.idleReplicaCount = idle;
      if (fallback) spec.fallback = fallback;
      return scalingSpecWithDefaults(spec);
    });
  const arbTrigger = (i: number) =>
    fc.oneof(
      fc
        .record({ lag: fc.nat({ max: 400 }), activation: fc.nat({ max: 20 }) })
        .map(({ lag: l, activation }): TriggerInput => ({
          name: `s${i}-kafka-t`,
          type: "kafka",
          metricValue: l,
          target: 10,
          metricType: "AverageValue",
          active: l > activation,
        })),
      fc.constant<TriggerInput>({
        name: `s${i}-kafka-t`,
        type: "kafka",
        target: 10,
        metricType: "AverageValue",
        error: "unreachable",
      }),
    );
  const arbState = fc
    .record({
      lastActiveAgo: fc.option(fc.integer({ min: 0, max: 900 }), { nil: undefined }),
      failures: fc.integer({ min: 0, max: 5 }),
      recs: fc.array(fc.record({ replicas: fc.nat({ max: 25 }), ago: fc.integer({ min: 0, max: 600 }) }), {
        maxLength: 4,
      }),
    })
    .map(({ lastActiveAgo, failures, recs }): ScalingState => {
      const s = running();
      if (lastActiveAgo !== undefined) s.lastActiveTime = NOW - lastActiveAgo * S;
      s.health = {
        "s0-kafka-t": { numberOfFailures: failures, status: failures > 0 ? "Failing" : "Happy" },
        "s1-kafka-t": { numberOfFailures: failures, status: failures > 0 ? "Failing" : "Happy" },
      };
      s.hpa = {
        ...emptyHPAHistory(),
        recommendations: recs.map((r) => ({ replicas: r.replicas, timestamp: NOW - r.ago * S })),
      };
      return s;
    });
  const arbInput = fc.record({
    spec: arbSpec,
    triggers: fc
      .tuple(arbTrigger(0), arbTrigger(1))
      .chain(([a, b]) => fc.constantFrom<TriggerInput[]>([a], [a, b])),
    cur: fc.integer({ min: 0, max: 25 }),
    ready: fc.integer({ min: 0, max: 25 }),
    state: arbState,
    createdAgo: fc.integer({ min: 0, max: 300 }),
    scaleIn: fc.boolean(),
    scaleOut: fc.boolean(),
  });
  const input = (x: {
    spec: ReturnType<typeof scalingSpecWithDefaults>;
    triggers: TriggerInput[];
    cur: number;
    ready: number;
    state: ScalingState;
    createdAgo: number;
    scaleIn: boolean;
    scaleOut: boolean;
  }): DecideInput => ({
    spec: x.spec,
    triggers: x.triggers,
    currentReplicas: x.cur,
    readyReplicas: Math.min(x.ready, x.cur),
    now: NOW,
    createdAt: NOW - x.createdAgo * S,
    history: x.state,
    pause: { paused: false, pausedScaleIn: x.scaleIn, pausedScaleOut: x.scaleOut },
  });

  it("property: a scale decision stays within [min, max], or is the idle count (not paused)", () => {
    fc.assert(
      fc.property(arbInput, (x) => {
        const r = decideScaledObject(input(x));
        if (r.decision.kind !== "scale") return;
        const n = r.decision.replicas;
        const ok =
          (n >= x.spec.minReplicaCount && n <= x.spec.maxReplicaCount) || n === x.spec.idleReplicaCount;
        assert.ok(
          ok,
          `${n} outside [${x.spec.minReplicaCount}, ${x.spec.maxReplicaCount}] (idle ${x.spec.idleReplicaCount}): ${r.decision.reason}`,
        );
      }),
      { numRuns: 1500 },
    );
  });

  it("property: D5: never 0 or idle while any trigger errors", () => {
    fc.assert(
      fc.property(arbInput, (x) => {
        const r = decideScaledObject(input(x));
        if (r.decision.kind !== "scale" || !x.triggers.some((t) => t.error !== undefined)) return;
        assert.notEqual(r.decision.replicas, 0, r.decision.message);
        if (x.spec.idleReplicaCount !== undefined)
          assert.notEqual(r.decision.replicas, x.spec.idleReplicaCount, r.decision.message);
      }),
      { numRuns: 1500 },
    );
  });

  it("property: more metric never gives fewer replicas in one evaluation from the same state", () => {
    fc.assert(
      fc.property(arbInput, fc.nat({ max: 300 }), (x, extra) => {
        const first = x.triggers[0]!;
        if (first.metricValue === undefined) return;
        const more: TriggerInput = {
          ...first,
          metricValue: first.metricValue + extra,
          active: first.active || extra > 0,
        };
        const lo = decideScaledObject(input(x));
        const hi = decideScaledObject(input({ ...x, triggers: [more, ...x.triggers.slice(1)] }));
        assert.ok(
          after(hi, x.cur) >= after(lo, x.cur),
          `${after(hi, x.cur)} < ${after(lo, x.cur)}: ${lo.decision.message} / ${hi.decision.message}`,
        );
      }),
      { numRuns: 1500 },
    );
  });
});

describe("ScaledObject decision: no HPA memory after a start or a failover", () => {
  // The HPA's recordInitialRecommendation: the first reconcile of an HPA without memory records the current
  // replicas, so the scale-down window must pass in observations before a scale-down.
  it("4 → 1 is held for the stabilization window, though lastActiveTime is 100 s old and cooldown 300 s", () => {
    const restored = { ...initialScalingState(), lastActiveTime: NOW - 100 * S };
    const first = decide(
      { cooldownPeriod: 300, minReplicaCount: 1 },
      { currentReplicas: 4, triggers: [lag(0)], history: restored },
    );
    assert.deepEqual([first.decision.kind, after(first, 4)], ["hold", 4], "no premature scale-down");
    let state = first.state;
    for (let s = 30; s < 300; s += 30) {
      const r = decide(
        { cooldownPeriod: 300, minReplicaCount: 1 },
        { currentReplicas: 4, triggers: [lag(0)], history: state, now: NOW + s * S },
      );
      assert.equal(after(r, 4), 4, `still 4 after ${s} s of observations`);
      state = r.state;
    }
    const later = decide(
      { cooldownPeriod: 300, minReplicaCount: 1 },
      { currentReplicas: 4, triggers: [lag(0)], history: state, now: NOW + 300 * S },
    );
    assert.equal(after(later, 4), 1, "once a full window of observations has passed, the HPA scales down");
  });
  it("a scale-up is not held: the seeded recommendation only bounds scale-downs", () => {
    const r = decide({}, { currentReplicas: 2, triggers: [lag(60)], history: initialScalingState() });
    assert.deepEqual([r.decision.kind, after(r, 2)], ["scale", 6]);
  });
  it("with memory (an empty history, as in the Kubernetes HPA tests) the first decision may scale down", () => {
    const r = decide({ minReplicaCount: 1 }, { currentReplicas: 4, triggers: [lag(10)] });
    assert.deepEqual([r.decision.kind, after(r, 4)], ["scale", 1]);
  });
});
