/**
 * Hostile input on the leader's side (spec.ts): the leader never trusts that the webhook ran, so what it
 * reads from a stored ScaledObject passes the same bounds, and any stored object answers a spec or an
 * error, never a throw later in the decision, within a time and heap budget (test/support/bounded.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bounded } from "../../test/support/bounded.js";
import { validateScaledObject, type ResolvedScaledObjectSpec } from "../../core/crd/index.js";
import { resolveBehavior } from "../../core/scaling/hpa.js";
import { parseTriggers, scalingSpecFor } from "./spec.js";

type Obj = Record<string, unknown>;

function resolved(spec: Obj): ResolvedScaledObjectSpec {
  const v = validateScaledObject({
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "so", namespace: "ns" },
    spec: {
      scaleTargetRef: { name: "consumer" },
      triggers: [{ type: "kafka", metadata: { bootstrapServers: "k:9092", consumerGroup: "g", topic: "t" } }],
      ...spec,
    },
  });
  if (!v.ok) assert.fail(JSON.stringify(v.errors));
  return v.resolved.spec;
}

describe("leader: specs the webhook would refuse", () => {
  it('tolerance "50m" reaches the decision as 0.05 (it was read as 50)', () => {
    const spec = scalingSpecFor(
      resolved({
        advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { tolerance: "50m" } } } },
      }),
    );
    assert.ok(spec.ok);
    const behavior = resolveBehavior(spec.spec.advanced?.horizontalPodAutoscalerConfig?.behavior);
    assert.equal(behavior.scaleUp.tolerance, 0.05);
  });

  it('a stored tolerance "-0.5" or "1e400" makes the object invalid with a message, not a throw at every poll', () => {
    for (const tolerance of ["-0.5", "1e400", "banana"]) {
      // Built past validation, as if admitted while the webhook was down and the CRD older.
      const spec = resolved({});
      spec.advanced = { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { tolerance } } } };
      const r = bounded("scalingSpecFor", scalingSpecFor, spec);
      assert.ok(!r.ok, tolerance);
      assert.match(
        r.error,
        /spec\.advanced\.horizontalPodAutoscalerConfig\.behavior\.scaleDown\.tolerance: /,
      );
    }
  });
});

describe("leader: properties", () => {
  it("any trigger metadata and TriggerAuthentication parameters answer parsed triggers or errors naming the trigger", () => {
    const valueArb = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        "0-99999,".repeat(300),
        "0-200000000 * * * *",
        "0 0 l * *",
        "europe/paris",
        "Europe/Paris",
        "0 8 * * *",
        "1e9",
        "k:9092",
        "scram_sha512",
        "enable",
      ),
    );
    const keys = [
      "bootstrapServers",
      "consumerGroup",
      "topic",
      "partitionLimitation",
      "lagThreshold",
      "sasl",
      "tls",
      "start",
      "end",
      "timezone",
      "desiredReplicas",
    ];
    const mapArb = fc.dictionary(fc.constantFrom(...keys), valueArb, { maxKeys: 8 });
    const triggerArb = fc.record({
      type: fc.constantFrom("kafka", "cron", "cpu", ""),
      metadata: mapArb,
      metricType: fc.constantFrom("AverageValue" as const, "Value" as const),
    });
    fc.assert(
      fc.property(
        fc.array(triggerArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ authParams: mapArb, resolvedEnv: mapArb }), { maxLength: 4 }),
        (triggers, auth) => {
          const r = bounded("parseTriggers", ([t, a]) => parseTriggers(t, a), [triggers, auth] as const);
          if (!r.ok) for (const e of r.errors) assert.match(e, /^spec\.triggers\[\d+\] \(/);
          else assert.equal(r.triggers.length, triggers.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
