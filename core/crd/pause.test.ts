import { test } from "node:test";
import assert from "node:assert/strict";
import { hasPausedAnnotation, parsePauseAnnotations, type PauseState } from "./pause.js";

const K = "autoscaling.keda.sh/";
const L = "lagscale.io/";

function state(
  a: Record<string, string> | undefined,
  kind: "ScaledObject" | "ScaledJob" = "ScaledObject",
): PauseState {
  const r = parsePauseAnnotations(a, kind);
  if (!r.ok) assert.fail(r.error.message);
  return r.value;
}

// KEDA's TestHasPausedAnnotation, under both prefixes.
for (const prefix of [K, L]) {
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ["No annotations", undefined, false],
    ["Has PausedAnnotation only", { [`${prefix}paused`]: "true" }, true],
    ["Has PausedReplicasAnnotation only", { [`${prefix}paused-replicas`]: "5" }, true],
    ["Has both annotations", { [`${prefix}paused`]: "true", [`${prefix}paused-replicas`]: "5" }, true],
    ["Has other annotations but not paused ones", { "some-other-annotation": "value" }, false],
  ];
  for (const [name, annotations, want] of cases) {
    test(`hasPausedAnnotation (KEDA TestHasPausedAnnotation, ${prefix}): ${name}`, () => {
      assert.equal(hasPausedAnnotation(annotations), want);
    });
  }
}

// KEDA's TestNeedToBePausedByAnnotation, under both prefixes.
for (const prefix of [K, L]) {
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ["No annotations", undefined, false],
    ["PausedAnnotation with true value", { [`${prefix}paused`]: "true" }, true],
    ["PausedAnnotation with false value", { [`${prefix}paused`]: "false" }, false],
    ["PausedAnnotation with invalid value", { [`${prefix}paused`]: "invalid" }, true],
    ["PausedReplicasAnnotation with value", { [`${prefix}paused-replicas`]: "5" }, true],
    ["Both annotations set", { [`${prefix}paused`]: "true", [`${prefix}paused-replicas`]: "5" }, true],
    [
      "Both annotations set, PausedAnnotation false",
      { [`${prefix}paused`]: "false", [`${prefix}paused-replicas`]: "5" },
      true,
    ],
  ];
  for (const [name, annotations, want] of cases) {
    test(`paused (KEDA TestNeedToBePausedByAnnotation, ${prefix}): ${name}`, () => {
      assert.equal(state(annotations).paused, want);
    });
  }
}

// KEDA's TestGetPausedReplicaCount.
test("paused-replicas (KEDA TestGetPausedReplicaCount): absent, 5, 0, and not a number", () => {
  assert.equal(state(undefined).pausedReplicas, undefined);
  assert.equal(state({ other: "x" }).pausedReplicas, undefined);
  assert.equal(state({ [`${K}paused-replicas`]: "5" }).pausedReplicas, 5);
  assert.equal(state({ [`${K}paused-replicas`]: "0" }).pausedReplicas, 0);
  const bad = parsePauseAnnotations({ [`${K}paused-replicas`]: "not-a-number" });
  assert.deepEqual(bad, {
    ok: false,
    error: {
      path: 'metadata.annotations["autoscaling.keda.sh/paused-replicas"]',
      message:
        'autoscaling.keda.sh/paused-replicas must be a replica count (a whole number from 0 to 2147483647), got "not-a-number"',
    },
  });
  for (const v of ["-1", " 5", "2147483648", "1.0"]) {
    assert.equal(parsePauseAnnotations({ [`${L}paused-replicas`]: v }).ok, false, v);
  }
});

test("scale-in, scale-out and force-activation flags: Go booleans, anything else means true", () => {
  const s = state({
    [`${K}paused-scale-in`]: "true",
    [`${L}paused-scale-out`]: "1",
    [`${K}force-activation`]: "yes",
  });
  assert.deepEqual(s, {
    paused: false,
    pausedScaleIn: true,
    pausedScaleOut: true,
    forceActivation: true,
    sources: [`${K}paused-scale-in`, `${L}paused-scale-out`, `${K}force-activation`],
  });
  assert.equal(state({ [`${K}paused-scale-in`]: "False" }).pausedScaleIn, false);
});

test("lagscale.io/ wins over autoscaling.keda.sh/ when both are present", () => {
  assert.equal(state({ [`${L}paused`]: "false", [`${K}paused`]: "true" }).paused, false);
  assert.equal(state({ [`${L}paused`]: "true", [`${K}paused`]: "false" }).paused, true);
  const r = state({ [`${L}paused-replicas`]: "2", [`${K}paused-replicas`]: "7" });
  assert.equal(r.pausedReplicas, 2);
  assert.deepEqual(r.sources, [`${L}paused-replicas`]);
});

test("ScaledJob: only the paused annotation applies (KEDA's ScaledJob.NeedToBePausedByAnnotation)", () => {
  assert.equal(state({ [`${K}paused`]: "true" }, "ScaledJob").paused, true);
  assert.equal(state({ [`${K}paused-replicas`]: "3" }, "ScaledJob").paused, false);
  assert.equal(state({ [`${L}paused`]: "nonsense" }, "ScaledJob").paused, true);
});
