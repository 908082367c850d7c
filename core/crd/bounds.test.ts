import { test } from "node:test";
import assert from "node:assert/strict";
import {
  checkFallbackValid,
  checkReplicaCountBounds,
  hpaMaxReplicas,
  hpaMinReplicas,
  isUsingScalingModifiers,
} from "./bounds.js";
import type { ScaledObjectSpec } from "./scaledobject.js";

// KEDA's TestCheckReplicaCountBoundsAreValid, plus the quirk rows of keda-semantics.md §2.2.
// [name, min, max, idle, expected error or undefined]
const boundsCases: [
  string,
  number | undefined,
  number | undefined,
  number | undefined,
  string | undefined,
][] = [
  ["Valid: min 1, max 5, no idle", 1, 5, undefined, undefined],
  ["Valid: min 1, max 5, idle 0", 1, 5, 0, undefined],
  ["Invalid: min 2 > max 1", 2, 1, undefined, "MinReplicaCount=2 must be less than MaxReplicaCount=1"],
  ["Invalid: idle 1 == min 1", 1, 5, 1, "IdleReplicaCount=1 must be less than MinReplicaCount=1"],
  ["Invalid: idle 2 > min 1", 1, 5, 2, "IdleReplicaCount=2 must be less than MinReplicaCount=1"],
  [
    "Quirk: idle 0 with min unset is refused",
    undefined,
    undefined,
    0,
    "IdleReplicaCount=0 must be less than MinReplicaCount=0",
  ],
  ["Quirk: idle 0 with explicit min 0 is accepted (min counts as 1)", 0, undefined, 0, undefined],
  ["Nothing set", undefined, undefined, undefined, undefined],
  [
    "min 101 over the default max 100",
    101,
    undefined,
    undefined,
    "MinReplicaCount=101 must be less than MaxReplicaCount=100",
  ],
];

for (const [name, min, max, idle, want] of boundsCases) {
  test(`replica bounds (KEDA CheckReplicaCountBoundsAreValid): ${name}`, () => {
    const spec: Parameters<typeof checkReplicaCountBounds>[0] = {};
    if (min !== undefined) spec.minReplicaCount = min;
    if (max !== undefined) spec.maxReplicaCount = max;
    if (idle !== undefined) spec.idleReplicaCount = idle;
    assert.equal(checkReplicaCountBounds(spec)?.message, want);
  });
}

// KEDA's TestGetHPAReplicas: [min, max, expected min, expected max]
const hpaCases: [number | undefined, number | undefined, number, number][] = [
  [undefined, undefined, 1, 100],
  [5, undefined, 5, 100],
  [undefined, 10, 1, 10],
  [5, 10, 5, 10],
  [0, undefined, 1, 100],
];
for (const [min, max, wantMin, wantMax] of hpaCases) {
  test(`HPA min/max (KEDA TestGetHPAReplicas): min ${String(min)}, max ${String(max)}`, () => {
    const spec: { minReplicaCount?: number; maxReplicaCount?: number } = {};
    if (min !== undefined) spec.minReplicaCount = min;
    if (max !== undefined) spec.maxReplicaCount = max;
    assert.equal(hpaMinReplicas(spec), wantMin);
    assert.equal(hpaMaxReplicas(spec), wantMax);
  });
}

type FallbackSpec = Pick<ScaledObjectSpec, "fallback" | "advanced" | "triggers">;
const trig = (type: string, metricType?: string) =>
  metricType ? { type, metadata: {}, metricType } : { type, metadata: {} };
const fb = { failureThreshold: 3, replicas: 1 };

// KEDA's TestCheckFallbackValid: [name, spec, error substring or undefined]
const fallbackCases: [string, FallbackSpec, string | undefined][] = [
  ["No fallback configured", { triggers: [trig("couchdb")] }, undefined],
  [
    "Explicit AverageValue metricType - valid",
    { fallback: fb, triggers: [trig("couchdb", "AverageValue")] },
    undefined,
  ],
  [
    "Implicit AverageValue metricType (empty string) - valid",
    { fallback: fb, triggers: [trig("couchdb", "")] },
    undefined,
  ],
  ["Value metricType - valid", { fallback: fb, triggers: [trig("couchdb", "Value")] }, undefined],
  [
    "Multiple triggers with one valid AverageValue - valid",
    { fallback: fb, triggers: [trig("prometheus", "Value"), trig("couchdb", "AverageValue")] },
    undefined,
  ],
  [
    "CPU trigger - invalid",
    { fallback: fb, triggers: [trig("cpu", "AverageValue")] },
    "type for the fallback to be enabled",
  ],
  [
    "Memory trigger - invalid",
    { fallback: fb, triggers: [trig("memory", "AverageValue")] },
    "type for the fallback to be enabled",
  ],
  [
    "Multiple triggers with one CPU and one valid - valid",
    { fallback: fb, triggers: [trig("cpu", "Utilization"), trig("couchdb", "AverageValue")] },
    undefined,
  ],
  [
    "Negative FailureThreshold - invalid",
    { fallback: { failureThreshold: -1, replicas: 1 }, triggers: [trig("couchdb", "AverageValue")] },
    "must both be greater than or equal to 0",
  ],
  [
    "Negative Replicas - invalid",
    { fallback: { failureThreshold: 3, replicas: -1 }, triggers: [trig("couchdb", "AverageValue")] },
    "must both be greater than or equal to 0",
  ],
  [
    "Using ScalingModifiers with AverageValue MetricType - valid",
    {
      fallback: fb,
      advanced: { scalingModifiers: { metricType: "AverageValue", formula: "x * 2" } },
      triggers: [trig("couchdb")],
    },
    undefined,
  ],
  [
    "Using ScalingModifiers with Value MetricType - valid",
    {
      fallback: fb,
      advanced: { scalingModifiers: { metricType: "Value", formula: "x * 2" } },
      triggers: [trig("couchdb")],
    },
    undefined,
  ],
  [
    "§2.9.1: scalingModifiers target must be a number > 0",
    {
      fallback: fb,
      advanced: { scalingModifiers: { formula: "x", target: "0" } },
      triggers: [trig("kafka")],
    },
    "scalingModifiers.target must be a number greater than 0",
  ],
  [
    "§2.9.1: scalingModifiers target that is not a number",
    {
      fallback: fb,
      advanced: { scalingModifiers: { formula: "x", target: "ten" } },
      triggers: [trig("kafka")],
    },
    "scalingModifiers.target must be a number greater than 0",
  ],
  [
    "W10: fallback behavior scalingModifiers needs a formula",
    { fallback: { ...fb, behavior: "scalingModifiers" }, triggers: [trig("kafka")] },
    "requires advanced.scalingModifiers.formula",
  ],
];

for (const [name, spec, want] of fallbackCases) {
  test(`fallback (KEDA CheckFallbackValid): ${name}`, () => {
    const err = checkFallbackValid(spec);
    if (want === undefined) assert.equal(err, undefined, err?.message);
    else assert.ok(err?.message.includes(want), `${err?.message ?? "no error"} should contain ${want}`);
  });
}

// KEDA's TestIsUsingModifiers
test("isUsingScalingModifiers (KEDA TestIsUsingModifiers)", () => {
  assert.equal(isUsingScalingModifiers({}), false);
  assert.equal(isUsingScalingModifiers({ advanced: { scalingModifiers: {} } }), false);
  assert.equal(isUsingScalingModifiers({ advanced: { scalingModifiers: { formula: "x" } } }), true);
  assert.equal(isUsingScalingModifiers({ advanced: { scalingModifiers: { target: "1" } } }), true);
});
