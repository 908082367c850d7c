import { test } from "node:test";
import assert from "node:assert/strict";
import { SCALED_OBJECTS } from "./resources.js";
import type { KubeRest } from "./rest.js";
import { kubeTime, mergeConditions, mergePatchDiff, StatusWriter, type Condition } from "./status.js";

const T0 = new Date("2026-01-01T00:00:00.000Z");
const T1 = new Date("2026-01-01T00:05:00.123Z");

test("kubeTime drops the milliseconds, as metav1.Time", () => {
  assert.equal(kubeTime(T1), "2026-01-01T00:05:00Z");
});

test("mergeConditions keeps lastTransitionTime while the status stays, and stamps changes and new types", () => {
  const old: Condition[] = [
    {
      type: "Ready",
      status: "True",
      reason: "ScaledObjectReady",
      lastTransitionTime: "2025-12-31T00:00:00Z",
    },
    {
      type: "Active",
      status: "False",
      reason: "ScalerNotActive",
      lastTransitionTime: "2025-12-31T00:00:00Z",
    },
    { type: "Paused", status: "False", lastTransitionTime: "2025-12-31T00:00:00Z" },
  ];
  const frozen = structuredClone(old);
  const out = mergeConditions(
    old,
    [
      { type: "Ready", status: "True", reason: "ScaledObjectReady", message: "new message" },
      { type: "Active", status: "True", reason: "ScalerActive" },
      { type: "Fallback", status: "False", reason: "NoFallbackFound" },
    ],
    T1,
  );
  assert.deepEqual(out, [
    {
      type: "Ready",
      status: "True",
      reason: "ScaledObjectReady",
      message: "new message",
      lastTransitionTime: "2025-12-31T00:00:00Z",
    },
    { type: "Active", status: "True", reason: "ScalerActive", lastTransitionTime: "2026-01-01T00:05:00Z" },
    { type: "Paused", status: "False", lastTransitionTime: "2025-12-31T00:00:00Z" },
    {
      type: "Fallback",
      status: "False",
      reason: "NoFallbackFound",
      lastTransitionTime: "2026-01-01T00:05:00Z",
    },
  ]);
  assert.deepEqual(old, frozen, "the input is not modified");
});

test("mergeConditions stamps a kept status that had no lastTransitionTime, and starts from nothing", () => {
  assert.deepEqual(
    mergeConditions([{ type: "Ready", status: "Unknown" }], [{ type: "Ready", status: "Unknown" }], T0),
    [{ type: "Ready", status: "Unknown", lastTransitionTime: "2026-01-01T00:00:00Z" }],
  );
  assert.deepEqual(mergeConditions(undefined, [], T0), []);
});

test("mergePatchDiff sets changes, nulls removed keys, recurses into maps and replaces arrays", () => {
  assert.equal(mergePatchDiff({ a: 1, m: { x: 1 } }, { a: 1, m: { x: 1 } }), undefined);
  assert.deepEqual(
    mergePatchDiff(
      { a: 1, gone: "x", m: { keep: 1, drop: 2 }, list: [1, 2] },
      { a: 2, m: { keep: 1, add: 3 }, list: [1, 2, 3], gone: null },
    ),
    { a: 2, gone: null, m: { drop: null, add: 3 }, list: [1, 2, 3] },
  );
});

/** A KubeRest stand-in that records patches (pure logic: no API server involved). */
function recordingRest() {
  const calls: { path: string; body: unknown }[] = [];
  const rest = {
    patch: async (path: string, body: unknown) => {
      calls.push({ path, body });
      return { patched: body };
    },
  } as unknown as KubeRest;
  return { rest, calls };
}

test("StatusWriter sends only changed fields to /status, and nothing when nothing changed", async () => {
  const { rest, calls } = recordingRest();
  const writer = new StatusWriter(rest, () => T1);
  const so = {
    apiVersion: "lagscale.io/v1alpha1" as const,
    kind: "ScaledObject" as const,
    metadata: { namespace: "ns", name: "so" },
    spec: { scaleTargetRef: { name: "d" }, triggers: [] },
    status: {
      originalReplicaCount: 3,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "ScaledObjectReady",
          lastTransitionTime: "2025-12-31T00:00:00Z",
        },
      ],
    },
  };
  // same values: no request
  const same = await writer.patch(SCALED_OBJECTS, so as never, {
    originalReplicaCount: 3,
    lastActiveTime: undefined,
    conditions: [{ type: "Ready", status: "True", reason: "ScaledObjectReady" }],
  });
  assert.equal(same.patched, false);
  assert.equal(calls.length, 0);

  const changed = await writer.patch(SCALED_OBJECTS, so as never, {
    originalReplicaCount: null,
    currentReplicas: 5,
    conditions: [{ type: "Active", status: "True", reason: "ScalerActive" }],
  });
  assert.equal(changed.patched, true);
  assert.deepEqual(calls, [
    {
      path: "/apis/lagscale.io/v1alpha1/namespaces/ns/scaledobjects/so/status",
      body: {
        status: {
          originalReplicaCount: null,
          currentReplicas: 5,
          conditions: [
            {
              type: "Ready",
              status: "True",
              reason: "ScaledObjectReady",
              lastTransitionTime: "2025-12-31T00:00:00Z",
            },
            {
              type: "Active",
              status: "True",
              reason: "ScalerActive",
              lastTransitionTime: "2026-01-01T00:05:00Z",
            },
          ],
        },
      },
    },
  ]);
});
