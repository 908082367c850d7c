/**
 * Hostile input for the CRD validation the webhook and every reconcile run (core/crd): any object
 * answers a value or errors with a path, within a time and heap budget (test/support/bounded.ts),
 * including the objects of issue 8 by name.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bounded } from "../../test/support/bounded.js";
import { MAX_TRIGGERS } from "./common.js";
import { parsePauseAnnotations } from "./pause.js";
import { MAX_AUTH_REFS } from "./triggerauthentication.js";
import {
  MAX_NESTING_DEPTH,
  validateClusterTriggerAuthentication,
  validateScaledJob,
  validateScaledObject,
  validateTriggerAuthentication,
  type FieldError,
} from "./validate.js";

type Obj = Record<string, unknown>;

function scaledObject(spec: Obj = {}): Obj {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "so", namespace: "ns" },
    spec: {
      scaleTargetRef: { name: "consumer" },
      triggers: [{ type: "kafka", metadata: { bootstrapServers: "k:9092", consumerGroup: "g", topic: "t" } }],
      ...spec,
    },
  };
}

function scaledJob(jobTargetRef: Obj): Obj {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledJob",
    metadata: { name: "sj", namespace: "ns" },
    spec: { jobTargetRef, triggers: [{ type: "kafka", metadata: { topic: "t" } }] },
  };
}

/** An object nested `depth` levels deep, built without recursion. */
function nested(depth: number): Obj {
  let o: Obj = { leaf: true };
  for (let i = 0; i < depth; i++) o = i % 2 === 0 ? { a: o } : { b: [o] };
  return o;
}

function errorsOf(r: { ok: true } | { ok: false; errors: FieldError[] }): FieldError[] {
  assert.ok(!r.ok, "expected a refusal");
  return r.errors;
}

const so = (input: unknown) => bounded("validateScaledObject", validateScaledObject, input);

describe("CRD validation: the objects of issue 8", () => {
  it("a ScaledJob template nested ~3,450 (and 100,000) levels deep is refused with a path, not a stack overflow", () => {
    for (const depth of [3_450, 100_000]) {
      const r = bounded("validateScaledJob", validateScaledJob, scaledJob({ template: nested(depth) }));
      const [e] = errorsOf(r);
      assert.match(e!.message, new RegExp(`nested more than ${MAX_NESTING_DEPTH} levels deep`));
      assert.match(e!.path, /^spec\.jobTargetRef\.template/);
    }
    const fine = bounded("validateScaledJob", validateScaledJob, scaledJob({ template: nested(60) }));
    assert.ok(fine.ok, "a deep but reasonable template is accepted");
  });

  it("maxReplicaCount 2147483648 and fallback.replicas 1e12 are refused as beyond int32", () => {
    const max = errorsOf(so(scaledObject({ maxReplicaCount: 2147483648 })));
    assert.deepEqual(max, [
      {
        path: "spec.maxReplicaCount",
        message: "must be <= 2147483647 (a Kubernetes int32), got 2147483648",
      },
    ]);
    const fb = errorsOf(so(scaledObject({ fallback: { failureThreshold: 3, replicas: 1e12 } })));
    assert.equal(fb[0]!.path, "spec.fallback.replicas");
    assert.match(fb[0]!.message, /a Kubernetes int32/);
  });

  it("pollingInterval 2147483647 is a valid int32 (the evaluation loop caps the timer); one more is refused", () => {
    assert.ok(so(scaledObject({ pollingInterval: 2147483647 })).ok);
    assert.match(errorsOf(so(scaledObject({ pollingInterval: 2147483648 })))[0]!.message, /int32/);
  });

  it('tolerance "50m" is accepted; "-0.5", "1e400" and garbage are refused at their path', () => {
    const behavior = (tolerance: unknown) =>
      scaledObject({ advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { tolerance } } } } });
    assert.ok(so(behavior("50m")).ok);
    for (const [t, why] of [
      ["-0.5", /negative/],
      ["1e400", /too large/],
      ["banana", /not a quantity/],
      [-1, /negative/],
    ] as const) {
      const [e] = errorsOf(so(behavior(t)));
      assert.equal(e!.path, "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance");
      assert.match(e!.message, why);
    }
  });

  it("every int32 field of both kinds is bounded", () => {
    const soFields: Obj[] = [
      { pollingInterval: 2 ** 31 },
      { cooldownPeriod: 2 ** 31 },
      { initialCooldownPeriod: 2 ** 31 },
      { idleReplicaCount: 2 ** 31 },
      { minReplicaCount: 2 ** 31 },
      { fallback: { failureThreshold: 2 ** 31, replicas: 1 } },
      {
        advanced: {
          horizontalPodAutoscalerConfig: {
            behavior: {
              scaleDown: {
                stabilizationWindowSeconds: 2 ** 31,
                policies: [{ type: "Pods", value: 2 ** 31, periodSeconds: 15 }],
              },
            },
          },
        },
      },
    ];
    for (const spec of soFields) assert.equal(so(scaledObject(spec)).ok, false, JSON.stringify(spec));
    for (const field of [
      "pollingInterval",
      "successfulJobsHistoryLimit",
      "failedJobsHistoryLimit",
      "maxReplicaCount",
    ]) {
      const sj = scaledJob({ template: {} });
      (sj["spec"] as Obj)[field] = 2 ** 31;
      assert.equal(validateScaledJob(sj).ok, false, field);
    }
    for (const field of ["parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"]) {
      assert.equal(validateScaledJob(scaledJob({ template: {}, [field]: 2 ** 31 })).ok, false, field);
    }
    assert.equal(validateScaledJob(scaledJob({ template: {}, activeDeadlineSeconds: 2 ** 53 })).ok, false);
  });

  it("at most 100 triggers and 100 entries per TriggerAuthentication list", () => {
    const trigger = { type: "cron", metadata: {} };
    const [e] = errorsOf(so(scaledObject({ triggers: Array(MAX_TRIGGERS + 1).fill(trigger) })));
    assert.deepEqual(e, { path: "spec.triggers", message: "must have at most 100 items, got 101" });
    const ref = { parameter: "password", name: "s", key: "k" };
    const ta = (n: number) => ({
      apiVersion: "lagscale.io/v1alpha1",
      kind: "TriggerAuthentication",
      metadata: { name: "ta" },
      spec: { secretTargetRef: Array(n).fill(ref) },
    });
    assert.ok(bounded("validateTriggerAuthentication", validateTriggerAuthentication, ta(MAX_AUTH_REFS)).ok);
    assert.equal(validateTriggerAuthentication(ta(MAX_AUTH_REFS + 1)).ok, false);
  });

  it("names of referenced objects are at most 253 characters; pendingPodConditions at most 32", () => {
    const [e] = errorsOf(so(scaledObject({ scaleTargetRef: { name: "d".repeat(254) } })));
    assert.deepEqual(e, {
      path: "spec.scaleTargetRef.name",
      message: "must be at most 253 characters, got 254",
    });
    assert.ok(so(scaledObject({ scaleTargetRef: { name: "d".repeat(253) } })).ok);
    const longTrigger = {
      type: "k".repeat(65),
      name: "n".repeat(254),
      metricType: "V".repeat(65),
      metadata: {},
    };
    assert.deepEqual(
      errorsOf(so(scaledObject({ triggers: [longTrigger] }))).map((e) => e.path),
      ["spec.triggers[0].type", "spec.triggers[0].name", "spec.triggers[0].metricType"],
    );
    const sj = scaledJob({ template: {} });
    (sj["spec"] as Obj)["scalingStrategy"] = { pendingPodConditions: Array(33).fill("Ready") };
    assert.equal(validateScaledJob(sj).ok, false);
  });

  it("paused-replicas: banana, a value beyond int32 and a 256 KiB value are refused with a short message", () => {
    for (const v of ["banana", "2147483648", "-1", "1e3", "9".repeat(256 * 1024)]) {
      const r = bounded("parsePauseAnnotations", parsePauseAnnotations, { "lagscale.io/paused-replicas": v });
      assert.ok(!r.ok, v.slice(0, 20));
      assert.ok(r.error.message.length < 200);
    }
  });
});

describe("CRD validation: messages", () => {
  it("a 1 MiB wrong value is shown cut short", () => {
    const [e] = errorsOf(so(scaledObject({ pollingInterval: "9".repeat(2 ** 20) })));
    assert.equal(e!.path, "spec.pollingInterval");
    assert.ok(e!.message.length < 200, `${e!.message.length} characters`);
  });
});

describe("CRD validation: properties", () => {
  const anyValue = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.constantFrom(
      2 ** 31,
      -(2 ** 31) - 1,
      1e12,
      Number.POSITIVE_INFINITY,
      -0,
      Number.NaN,
      "1e400",
      "50m",
      "-0.5",
      null,
    ),
  );
  const PATHS = [
    ["spec", "pollingInterval"],
    ["spec", "maxReplicaCount"],
    ["spec", "minReplicaCount"],
    ["spec", "idleReplicaCount"],
    ["spec", "fallback"],
    ["spec", "advanced"],
    ["spec", "triggers"],
    ["spec", "scaleTargetRef"],
    ["metadata", "annotations"],
    ["spec"],
    ["metadata"],
    ["kind"],
  ];
  it("a valid ScaledObject with any one field replaced answers a value or errors with a path", () => {
    fc.assert(
      fc.property(fc.constantFrom(...PATHS), anyValue, (path, value) => {
        const o = scaledObject();
        let at: Obj = o;
        for (const k of path.slice(0, -1)) at = at[k] as Obj;
        at[path[path.length - 1]!] = value;
        const r = so(o);
        if (!r.ok) for (const e of r.errors) assert.ok(e.path !== "" && e.message !== "");
      }),
      { numRuns: 400 },
    );
  });

  it("any JSON answers a value or errors, for each kind", () => {
    const validators: ((input: unknown) => { ok: true } | { ok: false; errors: FieldError[] })[] = [
      validateScaledObject,
      validateScaledJob,
      validateTriggerAuthentication,
      validateClusterTriggerAuthentication,
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...validators),
        fc.oneof(fc.jsonValue(), fc.anything()),
        (validate, input) => {
          const r = bounded("validate", validate, input);
          if (!r.ok) assert.ok(r.errors.length > 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
