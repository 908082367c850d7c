/**
 * The HPA algorithm. The tables port, as data, the cases of Kubernetes' HPA controller tests
 * (pkg/controller/podautoscaler: TestScalingWithRules, TestNormalizeDesiredReplicasWithBehavior,
 * TestStoreScaleEvents, TestCalculateScale{Up,Down}Limit*, and the external-metric cases of the replica
 * calculator tests). Times there are relative to "now"; here they are relative to a fixed NOW.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  emptyHPAHistory,
  hpaReconcile,
  limitByBehaviorRate,
  metricReplicas,
  resolveBehavior,
  resolveScaleDownRules,
  resolveScaleUpRules,
  replicasChangePerPeriod,
  scaleDownLimit,
  scaleUpLimit,
  stabilizeRecommendation,
  storeScaleEvent,
  type HPAHistory,
  type ScaleEvent,
} from "./hpa.js";
import type { HPAScalingRules } from "./spec.js";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const sec = (s: number): number => NOW - s * 1000;
const min = (m: number): number => NOW - m * 60_000;

/** Kubernetes' test helper generateScalingRules: Max select, a Pods and/or a Percent policy. */
function rules(pods: number, podsPeriod: number, percent: number, percentPeriod: number, window: number) {
  const r: HPAScalingRules = { stabilizationWindowSeconds: window, selectPolicy: "Max", policies: [] };
  if (pods !== 0) r.policies!.push({ type: "Pods", value: pods, periodSeconds: podsPeriod });
  if (percent !== 0) r.policies!.push({ type: "Percent", value: percent, periodSeconds: percentPeriod });
  return r;
}

/** Kubernetes' test helper generateEventsUniformDistribution: events spread evenly over the last period. */
function uniformEvents(changes: number[], periodSeconds: number): ScaleEvent[] {
  const segment = periodSeconds / changes.length;
  return changes.map((c, i) => ({
    replicaChange: c,
    timestamp: sec(Math.trunc(periodSeconds - segment * (i + 1) + segment / 2)),
    outdated: false,
  }));
}

describe("HPA: replica calculator for external metrics (Kubernetes replica calculator cases)", () => {
  const tol = { scaleUp: 0.1, scaleDown: 0.1 };
  const cases = [
    // name, metric type, value, target, current, ready, expected
    { name: "scale up, Value target", type: "Value", value: 8600, target: 4400, cur: 1, ready: 1, want: 2 },
    {
      name: "scale up, AverageValue target",
      type: "AverageValue",
      value: 8600,
      target: 2150,
      cur: 3,
      ready: 3,
      want: 4,
    },
    {
      name: "scale down, Value target",
      type: "Value",
      value: 8600,
      target: 14334,
      cur: 5,
      ready: 5,
      want: 3,
    },
    {
      name: "scale down, AverageValue target",
      type: "AverageValue",
      value: 8600,
      target: 2867,
      cur: 5,
      ready: 5,
      want: 3,
    },
    {
      name: "within tolerance, Value target",
      type: "Value",
      value: 8600,
      target: 8888,
      cur: 3,
      ready: 3,
      want: 3,
    },
    {
      name: "within tolerance, AverageValue target",
      type: "AverageValue",
      value: 8600,
      target: 2900,
      cur: 3,
      ready: 3,
      want: 3,
    },
    {
      name: "Value target ignores unready pods",
      type: "Value",
      value: 8600,
      target: 4400,
      cur: 3,
      ready: 1,
      want: 2,
    },
    {
      name: "Value target at zero replicas: ceil(ratio)",
      type: "Value",
      value: 8600,
      target: 4400,
      cur: 0,
      ready: 0,
      want: 2,
    },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      const got = metricReplicas(
        { value: c.value, target: c.target, metricType: c.type },
        { current: c.cur, status: c.cur, ready: c.ready },
        tol,
      );
      assert.equal(got, c.want);
    });
  }

  it("HPA: the 64-partition cap sits inside the tolerance, so 63 replicas never become 64 (KEDA #2908)", () => {
    const got = metricReplicas(
      { value: 192000, target: 3000, metricType: "AverageValue" },
      { current: 63, status: 63, ready: 63 },
      tol,
    );
    assert.equal(got, 63);
    // one replica further down the ratio leaves the band and the HPA asks for all 64
    assert.equal(
      metricReplicas(
        { value: 192000, target: 3000, metricType: "AverageValue" },
        { current: 57, status: 57, ready: 57 },
        tol,
      ),
      64,
    );
  });

  it("HPA: AverageValue desired = ceil(lag / lagThreshold) outside the tolerance", () => {
    const at = (value: number, cur: number) =>
      metricReplicas(
        { value, target: 10, metricType: "AverageValue" },
        { current: cur, status: cur, ready: cur },
        tol,
      );
    assert.equal(at(35, 1), 4);
    assert.equal(at(0, 4), 0);
    assert.equal(at(25, 2), 3);
    assert.equal(at(21, 2), 2, "ratio 1.05 is inside the 10% band");
    assert.equal(at(22.1, 2), 3, "ratio 1.105 is outside it");
  });

  it("HPA: metric values are milli quantities; negative and NaN read as 0", () => {
    const r = { current: 2, status: 2, ready: 2 };
    assert.equal(metricReplicas({ value: -5, target: 10, metricType: "AverageValue" }, r, tol), 0);
    assert.equal(metricReplicas({ value: Number.NaN, target: 10, metricType: "AverageValue" }, r, tol), 0);
    assert.equal(
      metricReplicas(
        { value: 10.0004, target: 10, metricType: "AverageValue" },
        { ...r, current: 1, status: 1 },
        tol,
      ),
      1,
    );
  });

  it("HPA: per-direction tolerance (behavior.scaleUp/scaleDown.tolerance)", () => {
    const r = { current: 10, status: 10, ready: 10 };
    const m = { value: 105, target: 10, metricType: "AverageValue" as const };
    assert.equal(metricReplicas(m, r, { scaleUp: 0.1, scaleDown: 0.1 }), 10);
    assert.equal(metricReplicas(m, r, { scaleUp: 0.01, scaleDown: 0.1 }), 11);
    assert.equal(resolveScaleUpRules({ tolerance: "0.05" }).tolerance, 0.05);
    assert.throws(() => resolveScaleUpRules({ tolerance: "lots" }), /tolerance/);
  });
});

describe("HPA: default behavior (Kubernetes defaults.go)", () => {
  it("HPA: scale-up defaults are 0 s stabilization and Max of 4 pods / 100% per 15 s", () => {
    assert.deepEqual(resolveScaleUpRules(), {
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Pods", value: 4, periodSeconds: 15 },
        { type: "Percent", value: 100, periodSeconds: 15 },
      ],
      tolerance: 0.1,
    });
  });
  it("HPA: scale-down defaults are 300 s stabilization and 100% per 15 s", () => {
    assert.deepEqual(resolveScaleDownRules(), {
      stabilizationWindowSeconds: 300,
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
      tolerance: 0.1,
    });
  });
  it("a partial behavior is completed with the defaults", () => {
    const b = resolveBehavior({ scaleDown: { stabilizationWindowSeconds: 60 } });
    assert.equal(b.scaleDown.stabilizationWindowSeconds, 60);
    assert.deepEqual(b.scaleDown.policies, [{ type: "Percent", value: 100, periodSeconds: 15 }]);
    assert.equal(b.scaleUp.policies.length, 2);
  });
});

describe("HPA: scale limits (TestCalculateScaleUpLimitWithScalingRules, TestCalculateScaleDownLimitWithBehaviors)", () => {
  const minSelect: HPAScalingRules = {
    stabilizationWindowSeconds: 300,
    selectPolicy: "Min",
    policies: [
      { type: "Pods", value: 2, periodSeconds: 60 },
      { type: "Percent", value: 50, periodSeconds: 60 },
    ],
  };
  it("selectPolicy Min picks the smallest scale-up", () => {
    assert.equal(scaleUpLimit(1, [], [], resolveScaleUpRules(minSelect), NOW), 2);
  });
  it("selectPolicy Min picks the smallest scale-down", () => {
    assert.equal(scaleDownLimit(5, [], [], resolveScaleDownRules(minSelect), NOW), 3);
  });
  it("selectPolicy Disabled allows no change either way", () => {
    const disabled = resolveScaleUpRules({ selectPolicy: "Disabled" });
    assert.equal(scaleUpLimit(5, [], [], disabled, NOW), 5);
    assert.equal(scaleDownLimit(5, [], [], { ...disabled }, NOW), 5);
    const r = limitByBehaviorRate(
      {
        currentReplicas: 5,
        desiredReplicas: 9,
        minReplicas: 1,
        maxReplicas: 10,
        behavior: { scaleUp: disabled, scaleDown: resolveScaleDownRules() },
      },
      emptyHPAHistory(),
      NOW,
    );
    assert.deepEqual(r, { replicas: 5, reason: "ScaleUpLimit" });
  });
});

describe("HPA: rate policies and bounds (TestScalingWithRules)", () => {
  interface Case {
    name: string;
    up?: ScaleEvent[];
    down?: ScaleEvent[];
    min: number;
    max: number;
    upRules?: HPAScalingRules;
    downRules?: HPAScalingRules;
    cur: number;
    desired: number;
    want: number;
    reason: string;
  }
  const cases: Case[] = [
    {
      name: "prenormalized desired replicas within range",
      cur: 5,
      desired: 7,
      min: 3,
      max: 8,
      want: 7,
      reason: "DesiredWithinRange",
    },
    {
      name: "prenormalized desired replicas < minReplicas",
      cur: 3,
      desired: 1,
      min: 2,
      max: 8,
      want: 2,
      reason: "TooFewReplicas",
    },
    {
      name: "prenormalized desired replicas within range when minReplicas is 0",
      cur: 1,
      desired: 0,
      min: 0,
      max: 10,
      want: 0,
      reason: "DesiredWithinRange",
    },
    {
      name: "maxReplicas is the limit because maxReplicas < scaleUpLimit",
      cur: 20,
      desired: 1000,
      min: 1,
      max: 10,
      want: 10,
      reason: "TooManyReplicas",
    },
    {
      name: "desired replica count is more than the maximum replica count",
      cur: 100,
      desired: 1000,
      min: 100,
      max: 150,
      want: 150,
      reason: "TooManyReplicas",
    },
    {
      name: "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
      cur: 3,
      desired: 1000,
      min: 1,
      max: 2000,
      upRules: rules(0, 0, 1, 60, 0),
      want: 4,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies",
      cur: 1000,
      desired: 3,
      min: 3,
      max: 2000,
      downRules: rules(20, 60, 0, 0, 0),
      want: 980,
      reason: "ScaleDownLimit",
    },
    {
      name: "scaleUp with default behavior",
      cur: 10,
      desired: 50,
      min: 1,
      max: 1000,
      want: 20,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleUp with pods policy larger than percent policy",
      upRules: rules(100, 60, 100, 60, 0),
      cur: 10,
      desired: 500,
      min: 1,
      max: 1000,
      want: 110,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleUp with percent policy larger than pods policy",
      upRules: rules(2, 60, 100, 60, 0),
      cur: 10,
      desired: 500,
      min: 1,
      max: 1000,
      want: 20,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleUp with spec MaxReplicas limitation with large pod policy",
      upRules: rules(100, 60, 0, 0, 0),
      cur: 10,
      desired: 50,
      min: 1,
      max: 1000,
      want: 50,
      reason: "DesiredWithinRange",
    },
    {
      name: "scaleUp with spec MaxReplicas limitation with large percent policy",
      upRules: rules(10000, 60, 0, 0, 0),
      cur: 10,
      desired: 50,
      min: 1,
      max: 1000,
      want: 50,
      reason: "DesiredWithinRange",
    },
    {
      name: "scaleUp with pod policy limitation",
      upRules: rules(30, 60, 0, 0, 0),
      cur: 10,
      desired: 50,
      min: 1,
      max: 1000,
      want: 40,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleUp with percent policy limitation",
      upRules: rules(0, 0, 200, 60, 0),
      cur: 10,
      desired: 50,
      min: 1,
      max: 1000,
      want: 30,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleDown with percent policy larger than pod policy",
      downRules: rules(20, 60, 1, 60, 300),
      cur: 100,
      desired: 2,
      min: 1,
      max: 1000,
      want: 80,
      reason: "ScaleDownLimit",
    },
    {
      name: "scaleDown with pod policy larger than percent policy",
      downRules: rules(2, 60, 1, 60, 300),
      cur: 100,
      desired: 2,
      min: 1,
      max: 1000,
      want: 98,
      reason: "ScaleDownLimit",
    },
    {
      name: "scaleDown with spec MinReplicas=nil limitation with large pod policy",
      downRules: rules(100, 60, 0, 0, 300),
      cur: 10,
      desired: 0,
      min: 1,
      max: 1000,
      want: 1,
      reason: "TooFewReplicas",
    },
    {
      name: "scaleDown with spec MinReplicas limitation with large percent policy",
      downRules: rules(0, 0, 100, 60, 300),
      cur: 10,
      desired: 2,
      min: 5,
      max: 1000,
      want: 5,
      reason: "TooFewReplicas",
    },
    {
      name: "scaleDown with pod policy limitation",
      downRules: rules(5, 60, 0, 0, 300),
      cur: 10,
      desired: 2,
      min: 1,
      max: 1000,
      want: 5,
      reason: "ScaleDownLimit",
    },
    {
      name: "scaleDown with percent policy limitation",
      downRules: rules(0, 0, 50, 60, 300),
      cur: 10,
      desired: 5,
      min: 1,
      max: 1000,
      want: 5,
      reason: "DesiredWithinRange",
    },
    {
      name: "scaleUp with spec MaxReplicas limitation with large pod policy and events",
      up: uniformEvents([1, 5, 9], 120),
      upRules: rules(300, 60, 0, 0, 0),
      cur: 100,
      desired: 500,
      min: 1,
      max: 200,
      want: 200,
      reason: "TooManyReplicas",
    },
    {
      name: "scaleUp with spec MaxReplicas limitation with large percent policy and events",
      up: uniformEvents([1, 5, 9], 120),
      upRules: rules(0, 0, 10000, 60, 0),
      cur: 100,
      desired: 500,
      min: 1,
      max: 200,
      want: 200,
      reason: "TooManyReplicas",
    },
    {
      name: "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
      up: uniformEvents([1, 5, 9], 120),
      upRules: rules(5, 120, 0, 0, 0),
      cur: 100,
      desired: 500,
      min: 1,
      max: 1000,
      want: 100,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleUp with pod policy and previous scale up events",
      up: uniformEvents([1, 5, 9], 120),
      upRules: rules(150, 120, 0, 0, 0),
      cur: 100,
      desired: 500,
      min: 1,
      max: 1000,
      want: 235,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleUp with percent policy and previous scale up events",
      up: uniformEvents([1, 5, 9], 120),
      upRules: rules(0, 0, 200, 120, 0),
      cur: 100,
      desired: 500,
      min: 1,
      max: 1000,
      want: 255,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleUp with percent policy and previous scale up and down events",
      up: uniformEvents([4], 120),
      down: uniformEvents([2], 120),
      upRules: rules(0, 0, 300, 300, 0),
      cur: 6,
      desired: 24,
      min: 1,
      max: 1000,
      want: 16,
      reason: "ScaleUpLimit",
    },
    {
      name: "scaleDown with default policy and previous events",
      down: uniformEvents([1, 5, 9], 120),
      cur: 10,
      desired: 5,
      min: 1,
      max: 1000,
      want: 5,
      reason: "DesiredWithinRange",
    },
    {
      name: "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
      down: uniformEvents([1, 5, 9], 120),
      downRules: rules(115, 120, 0, 0, 300),
      cur: 100,
      desired: 0,
      min: 1,
      max: 1000,
      want: 1,
      reason: "TooFewReplicas",
    },
    {
      name: "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
      down: uniformEvents([1, 5, 9], 120),
      downRules: rules(130, 120, 0, 0, 300),
      cur: 100,
      desired: 0,
      min: 5,
      max: 1000,
      want: 5,
      reason: "TooFewReplicas",
    },
    {
      name: "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
      down: uniformEvents([1, 5, 9], 120),
      downRules: rules(0, 0, 100, 120, 300),
      cur: 100,
      desired: 2,
      min: 5,
      max: 1000,
      want: 5,
      reason: "TooFewReplicas",
    },
    {
      name: "scaleDown with pod policy limitation and previous events",
      down: uniformEvents([1, 5, 9], 120),
      downRules: rules(5, 120, 0, 0, 300),
      cur: 100,
      desired: 2,
      min: 1,
      max: 1000,
      want: 100,
      reason: "ScaleDownLimit",
    },
    {
      name: "scaleDown with percent policy limitation and previous events",
      down: uniformEvents([2, 4, 6], 120),
      downRules: rules(0, 0, 50, 120, 300),
      cur: 100,
      desired: 0,
      min: 1,
      max: 1000,
      want: 56,
      reason: "ScaleDownLimit",
    },
    {
      name: "scaleDown with percent policy and previous scale up and down events",
      up: uniformEvents([2], 120),
      down: uniformEvents([4], 120),
      downRules: rules(0, 0, 50, 180, 0),
      cur: 10,
      desired: 1,
      min: 1,
      max: 1000,
      want: 6,
      reason: "ScaleDownLimit",
    },
    {
      name: "scaleDown with previous events preventing further scale down",
      down: uniformEvents([10, 10, 10], 120),
      downRules: rules(0, 0, 10, 120, 300),
      cur: 100,
      desired: 0,
      min: 1,
      max: 1000,
      want: 100,
      reason: "ScaleDownLimit",
    },
    {
      name: "scaleDown with with previous events still allowing more scale down",
      down: uniformEvents([10, 10, 10], 120),
      downRules: rules(0, 0, 1000, 120, 300),
      cur: 10,
      desired: 5,
      min: 1,
      max: 1000,
      want: 5,
      reason: "DesiredWithinRange",
    },
    {
      name: "check 'outdated' flag for events for one behavior for up",
      up: uniformEvents([8, 12, 9, 11], 120),
      upRules: rules(1000, 60, 0, 0, 0),
      cur: 100,
      desired: 200,
      min: 1,
      max: 1000,
      want: 200,
      reason: "DesiredWithinRange",
    },
    {
      name: "check that events were not marked 'outdated' for two different policies in the behavior for up",
      up: uniformEvents([8, 12, 9, 11], 120),
      upRules: rules(1000, 120, 100, 60, 0),
      cur: 100,
      desired: 200,
      min: 1,
      max: 1000,
      want: 200,
      reason: "DesiredWithinRange",
    },
    {
      name: "check that events were marked 'outdated' for two different policies in the behavior for up",
      up: uniformEvents([8, 12, 9, 11], 120),
      upRules: rules(1000, 30, 100, 60, 0),
      cur: 100,
      desired: 200,
      min: 1,
      max: 1000,
      want: 200,
      reason: "DesiredWithinRange",
    },
    {
      name: "check 'outdated' flag for events for one behavior for down",
      down: uniformEvents([8, 12, 9, 11], 120),
      downRules: rules(1000, 60, 0, 0, 300),
      cur: 100,
      desired: 5,
      min: 1,
      max: 1000,
      want: 5,
      reason: "DesiredWithinRange",
    },
    {
      name: "check that events were not marked 'outdated' for two different policies in the behavior for down",
      down: uniformEvents([8, 12, 9, 11], 120),
      downRules: rules(1000, 120, 100, 60, 300),
      cur: 100,
      desired: 5,
      min: 1,
      max: 1000,
      want: 5,
      reason: "DesiredWithinRange",
    },
    {
      name: "check that events were marked 'outdated' for two different policies in the behavior for down",
      down: uniformEvents([8, 12, 9, 11], 120),
      downRules: rules(1000, 30, 100, 60, 300),
      cur: 100,
      desired: 5,
      min: 1,
      max: 1000,
      want: 5,
      reason: "DesiredWithinRange",
    },
  ];
  for (const c of cases) {
    it(`HPA: ${c.name}`, () => {
      const got = limitByBehaviorRate(
        {
          currentReplicas: c.cur,
          desiredReplicas: c.desired,
          minReplicas: c.min,
          maxReplicas: c.max,
          behavior: {
            scaleUp: resolveScaleUpRules(c.upRules),
            scaleDown: resolveScaleDownRules(c.downRules),
          },
        },
        { scaleUpEvents: c.up ?? [], scaleDownEvents: c.down ?? [] },
        NOW,
      );
      assert.deepEqual(got, { replicas: c.want, reason: c.reason });
    });
  }
});

describe("HPA: stabilization windows (TestNormalizeDesiredReplicasWithBehavior)", () => {
  interface Case {
    name: string;
    recs: [number, number][];
    cur: number;
    desired: number;
    want: number;
    wantRecs?: number[];
    up?: number;
    down?: number;
  }
  const cases: Case[] = [
    {
      name: "empty recommendations for scaling down",
      recs: [],
      cur: 100,
      desired: 5,
      want: 5,
      wantRecs: [5],
    },
    {
      name: "simple scale down stabilization",
      recs: [
        [4, min(2)],
        [5, min(1)],
      ],
      cur: 100,
      desired: 3,
      want: 5,
      wantRecs: [4, 5, 3],
      down: 180,
    },
    {
      name: "simple scale up stabilization",
      recs: [
        [4, min(2)],
        [5, min(1)],
      ],
      cur: 1,
      desired: 7,
      want: 4,
      wantRecs: [4, 5, 7],
      up: 300,
    },
    {
      name: "no scale down stabilization",
      recs: [
        [1, min(2)],
        [2, min(1)],
      ],
      cur: 100,
      desired: 3,
      want: 3,
      wantRecs: [1, 2, 3],
      up: 300,
    },
    {
      name: "no scale up stabilization",
      recs: [
        [4, min(2)],
        [5, min(1)],
      ],
      cur: 1,
      desired: 3,
      want: 3,
      wantRecs: [4, 5, 3],
      down: 300,
    },
    {
      name: "no scale down stabilization, reuse recommendation element",
      recs: [
        [10, min(10)],
        [9, min(9)],
      ],
      cur: 100,
      desired: 3,
      want: 3,
      wantRecs: [10, 3],
    },
    {
      name: "no scale up stabilization, reuse recommendation element",
      recs: [
        [10, min(10)],
        [9, min(9)],
      ],
      cur: 1,
      desired: 100,
      want: 100,
      wantRecs: [10, 100],
    },
    {
      name: "scale down stabilization, reuse one of obsolete recommendation element",
      recs: [
        [10, min(10)],
        [4, min(1)],
        [5, min(2)],
        [9, min(9)],
      ],
      cur: 100,
      desired: 3,
      want: 5,
      wantRecs: [10, 4, 5, 3],
      down: 180,
    },
    {
      name: "scale up stabilization, reuse one of obsolete recommendation element",
      recs: [
        [10, min(100)],
        [6, min(1)],
        [5, min(2)],
        [9, min(3)],
      ],
      cur: 1,
      desired: 100,
      want: 5,
      wantRecs: [100, 6, 5, 9],
      up: 300,
    },
    {
      name: "scale up and down stabilization, do not scale up when prenormalized rec goes down",
      recs: [
        [2, min(100)],
        [3, min(3)],
      ],
      cur: 2,
      desired: 1,
      want: 2,
      up: 300,
      down: 300,
    },
    {
      name: "scale up and down stabilization, do not scale down when prenormalized rec goes up",
      recs: [
        [2, min(100)],
        [1, min(3)],
      ],
      cur: 2,
      desired: 3,
      want: 2,
      up: 300,
      down: 300,
    },
  ];
  for (const c of cases) {
    it(`HPA: ${c.name}`, () => {
      const got = stabilizeRecommendation(
        {
          currentReplicas: c.cur,
          desiredReplicas: c.desired,
          scaleUpWindowSeconds: c.up ?? 0,
          scaleDownWindowSeconds: c.down ?? 0,
        },
        c.recs.map(([replicas, timestamp]) => ({ replicas, timestamp })),
        NOW,
      );
      assert.equal(got.replicas, c.want);
      if (c.wantRecs)
        assert.deepEqual(
          got.recommendations.map((r) => r.replicas),
          c.wantRecs,
        );
    });
  }
  it("does not modify the history passed in", () => {
    const recs = [{ replicas: 10, timestamp: min(10) }];
    stabilizeRecommendation(
      { currentReplicas: 5, desiredReplicas: 3, scaleUpWindowSeconds: 0, scaleDownWindowSeconds: 60 },
      recs,
      NOW,
    );
    assert.deepEqual(recs, [{ replicas: 10, timestamp: min(10) }]);
  });
});

describe("HPA: scale event storage (TestStoreScaleEvents)", () => {
  const cases = [
    {
      name: "empty entries with two-policy-behavior",
      prev: [],
      want: [[5, false]],
      rules: rules(10, 60, 100, 60, 0),
      change60: 0,
    },
    {
      name: "one outdated entry to be replaced with behavior",
      prev: [[7, 61]],
      want: [[5, false]],
      rules: rules(10, 60, 100, 60, 0),
      change60: 0,
    },
    {
      name: "one actual entry to be not touched with behavior",
      prev: [[7, 58]],
      want: [
        [7, false],
        [5, false],
      ],
      rules: rules(10, 60, 100, 60, 0),
      change60: 7,
    },
    {
      name: "two entries, one of them to be replaced",
      prev: [
        [7, 61],
        [6, 59],
      ],
      want: [
        [5, false],
        [6, false],
      ],
      rules: rules(10, 60, 0, 0, 0),
      change60: 6,
    },
    {
      name: "replace one entry, use policies with different periods",
      prev: [
        [8, 29],
        [6, 59],
        [7, 61],
        [9, 61],
      ],
      want: [
        [8, false],
        [6, false],
        [7, true],
        [5, false],
      ],
      rules: rules(10, 60, 100, 30, 0),
      change60: 14,
    },
    {
      name: "two entries, both actual",
      prev: [
        [7, 58],
        [6, 59],
      ],
      want: [
        [7, false],
        [6, false],
        [5, false],
      ],
      rules: rules(10, 120, 100, 30, 0),
      change60: 13,
    },
  ] as const;
  for (const c of cases) {
    it(`HPA: ${c.name}`, () => {
      const prev: ScaleEvent[] = c.prev.map(([replicaChange, ago]) => ({
        replicaChange,
        timestamp: sec(ago),
        outdated: false,
      }));
      assert.equal(replicasChangePerPeriod(60, prev, NOW), c.change60);
      const behavior = { scaleUp: resolveScaleUpRules(c.rules), scaleDown: resolveScaleDownRules(c.rules) };
      const base: HPAHistory = { recommendations: [], scaleUpEvents: prev, scaleDownEvents: prev };
      const up = storeScaleEvent(behavior, base, 10, 15, NOW);
      const down = storeScaleEvent(behavior, base, 10, 5, NOW);
      for (const events of [up.scaleUpEvents, down.scaleDownEvents]) {
        assert.deepEqual(
          events.map((e) => [e.replicaChange, e.outdated]),
          c.want.map((w) => [...w]),
        );
      }
      assert.deepEqual(up.scaleDownEvents, prev, "a scale-up leaves the scale-down events alone");
    });
  }
});

describe("HPA: one reconcile over time", () => {
  const behavior = resolveBehavior();
  const metric = (value: number | undefined, target = 10) => ({
    name: "s0-kafka-orders",
    value,
    target,
    metricType: "AverageValue" as const,
  });

  it("HPA: scale-down waits out the 300 s default stabilization window", () => {
    let history = emptyHPAHistory();
    const step = (cur: number, value: number, t: number) => {
      const r = hpaReconcile({
        currentReplicas: cur,
        minReplicas: 1,
        maxReplicas: 20,
        metrics: [metric(value)],
        behavior,
        history,
        now: t,
      });
      history = r.history;
      return r;
    };
    assert.equal(step(10, 100, NOW).replicas, 10);
    const held = step(10, 20, NOW + 60_000);
    assert.deepEqual([held.replicas, held.rescale, held.reason], [10, false, "ScaleDownStabilized"]);
    assert.equal(step(10, 20, NOW + 299_000).replicas, 10);
    const after = step(10, 20, NOW + 300_001);
    assert.deepEqual([after.replicas, after.rescale], [2, true]);
    assert.equal(history.scaleDownEvents.length, 1);
    assert.equal(history.scaleDownEvents[0]!.replicaChange, 8);
  });

  it("HPA: scale-up is limited to max(4 pods, 100%) per 15 s, counting earlier scale-ups in the period", () => {
    let history = emptyHPAHistory();
    const r1 = hpaReconcile({
      currentReplicas: 1,
      minReplicas: 1,
      maxReplicas: 50,
      metrics: [metric(300)],
      behavior,
      history,
      now: NOW,
    });
    assert.deepEqual([r1.replicas, r1.reason], [5, "ScaleUpLimit"]);
    history = r1.history;
    const r2 = hpaReconcile({
      currentReplicas: 5,
      minReplicas: 1,
      maxReplicas: 50,
      metrics: [metric(300)],
      behavior,
      history,
      now: NOW + 5_000,
    });
    assert.equal(
      r2.replicas,
      5,
      "the period started at 1 replica: 1 + 4 = 5 is the limit until 15 s have passed",
    );
    const r3 = hpaReconcile({
      currentReplicas: 5,
      minReplicas: 1,
      maxReplicas: 50,
      metrics: [metric(300)],
      behavior,
      history,
      now: NOW + 15_001,
    });
    assert.equal(r3.replicas, 10);
  });

  it("HPA: multiple metrics take the maximum proposal", () => {
    const r = hpaReconcile({
      currentReplicas: 4,
      minReplicas: 1,
      maxReplicas: 20,
      metrics: [metric(20), metric(70), { name: "cron", value: 3, target: 1, metricType: "AverageValue" }],
      behavior,
      history: emptyHPAHistory(),
      now: NOW,
    });
    assert.deepEqual(r.proposals, [2, 7, 3]);
    assert.equal(r.replicas, 7);
  });

  it("HPA: with an invalid metric it scales up on the others but never down (TestScaleUpOneMetricEmpty, TestNoScaleDownOneMetricEmpty)", () => {
    const base = { minReplicas: 2, maxReplicas: 6, behavior, history: emptyHPAHistory(), now: NOW };
    const up = hpaReconcile({ ...base, currentReplicas: 3, metrics: [metric(40), metric(undefined)] });
    assert.equal(up.replicas, 4);
    const down = hpaReconcile({ ...base, currentReplicas: 5, metrics: [metric(10), metric(undefined)] });
    assert.deepEqual([down.replicas, down.rescale, down.reason], [5, false, "InvalidMetrics"]);
    assert.deepEqual(down.history, base.history, "no recommendation is recorded when the HPA cannot compute");
    const none = hpaReconcile({ ...base, currentReplicas: 3, metrics: [metric(undefined)] });
    assert.deepEqual([none.replicas, none.reason], [3, "InvalidMetrics"]);
  });

  it("HPA: a target outside [min, max] moves straight to the bound", () => {
    const base = { metrics: [metric(1000)], behavior, history: emptyHPAHistory(), now: NOW };
    assert.deepEqual(
      [hpaReconcile({ ...base, currentReplicas: 30, minReplicas: 1, maxReplicas: 10 }).replicas],
      [10],
    );
    const below = hpaReconcile({
      ...base,
      metrics: [metric(0)],
      currentReplicas: 1,
      minReplicas: 3,
      maxReplicas: 10,
    });
    assert.deepEqual([below.replicas, below.reason], [3, "BelowMinReplicas"]);
  });

  it("HPA: at 0 replicas scaling is disabled (the operator owns 0 <-> 1)", () => {
    const r = hpaReconcile({
      currentReplicas: 0,
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [metric(1000)],
      behavior,
      history: emptyHPAHistory(),
      now: NOW,
    });
    assert.deepEqual([r.replicas, r.rescale, r.reason], [0, false, "ScalingDisabled"]);
  });

  it("property: HPA result stays within [min, max] and more metric never gives fewer replicas", () => {
    const arbRules = fc.record({
      stabilizationWindowSeconds: fc.integer({ min: 0, max: 600 }),
      selectPolicy: fc.constantFrom("Max" as const, "Min" as const, "Disabled" as const),
      policies: fc.array(
        fc.record({
          type: fc.constantFrom("Pods" as const, "Percent" as const),
          value: fc.integer({ min: 1, max: 400 }),
          periodSeconds: fc.integer({ min: 1, max: 600 }),
        }),
        { maxLength: 3 },
      ),
    });
    const arbEvents = fc.array(
      fc.record({
        replicaChange: fc.integer({ min: 1, max: 20 }),
        timestamp: fc.integer({ min: NOW - 900_000, max: NOW }),
        outdated: fc.boolean(),
      }),
      { maxLength: 5 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.nat({ max: 100_000 }),
        fc.nat({ max: 100_000 }),
        fc.integer({ min: 1, max: 1000 }),
        arbRules,
        arbRules,
        fc.array(
          fc.record({
            replicas: fc.nat({ max: 60 }),
            timestamp: fc.integer({ min: NOW - 900_000, max: NOW }),
          }),
          { maxLength: 6 },
        ),
        arbEvents,
        arbEvents,
        (minR, extra, cur, a, b, target, up, down, recommendations, scaleUpEvents, scaleDownEvents) => {
          const maxR = minR + extra;
          const input = {
            currentReplicas: cur,
            minReplicas: minR,
            maxReplicas: maxR,
            behavior: { scaleUp: resolveScaleUpRules(up), scaleDown: resolveScaleDownRules(down) },
            history: { recommendations, scaleUpEvents, scaleDownEvents },
            now: NOW,
          };
          const lo = hpaReconcile({ ...input, metrics: [metric(Math.min(a, b), target)] });
          const hi = hpaReconcile({ ...input, metrics: [metric(Math.max(a, b), target)] });
          assert.ok(
            lo.replicas >= minR && lo.replicas <= maxR,
            `low ${lo.replicas} outside [${minR}, ${maxR}]`,
          );
          assert.ok(
            hi.replicas >= minR && hi.replicas <= maxR,
            `high ${hi.replicas} outside [${minR}, ${maxR}]`,
          );
          assert.ok(
            hi.replicas >= lo.replicas,
            `more metric gave fewer replicas: ${hi.replicas} < ${lo.replicas}`,
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
