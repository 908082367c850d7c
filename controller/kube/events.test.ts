import { test } from "node:test";
import assert from "node:assert/strict";
import { EventRecorder, EventReason, type CoreEvent } from "./events.js";
import type { KubeRest } from "./rest.js";

/** A KubeRest stand-in recording event writes (aggregation logic only; the real API server is in test/controller). */
function recordingRest(failPatchWith404 = false) {
  const writes: { verb: "POST" | "PATCH"; path: string; body: Record<string, unknown> }[] = [];
  const rest = {
    post: async (path: string, body: CoreEvent) => {
      writes.push({ verb: "POST", path, body: body as unknown as Record<string, unknown> });
      return body;
    },
    patch: async (path: string, body: Record<string, unknown>) => {
      writes.push({ verb: "PATCH", path, body });
      if (failPatchWith404) {
        const { KubeApiError } = await import("./rest.js");
        throw new KubeApiError("PATCH", path, 404, "NotFound", "gone");
      }
      return body;
    },
  } as unknown as KubeRest;
  return { rest, writes };
}

const so = {
  apiVersion: "lagscale.io/v1alpha1",
  kind: "ScaledObject",
  metadata: { namespace: "ns", name: "orders", uid: "u1" },
};

test("a hot loop of one event is one Event: created once, then its count patched once per window", async () => {
  const { rest, writes } = recordingRest();
  const rec = new EventRecorder(rest, { repeatWindowMs: 60_000, instance: "pod-0" });
  for (let i = 0; i < 500; i++) rec.event(so, "Warning", EventReason.KEDAScalerFailed, "broker unreachable");
  await rec.flush();
  assert.equal(writes.length, 2, writes.map((w) => w.verb).join(","));
  const [create, patch] = writes;
  assert.equal(create!.verb, "POST");
  assert.equal(create!.path, "/api/v1/namespaces/ns/events");
  assert.equal(create!.body.count, 1);
  assert.equal(create!.body.reason, "KEDAScalerFailed");
  assert.equal(create!.body.type, "Warning");
  assert.deepEqual(create!.body.involvedObject, {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    name: "orders",
    namespace: "ns",
    uid: "u1",
    resourceVersion: undefined,
  });
  const name = (create!.body.metadata as { name: string }).name;
  assert.match(name, /^orders\.[0-9a-f]+$/);
  assert.equal(patch!.verb, "PATCH");
  assert.equal(patch!.path, `/api/v1/namespaces/ns/events/${name}`);
  assert.equal(patch!.body.count, 500);
});

test("different messages are different Events until more than maxSimilar, then they are combined", async () => {
  const { rest, writes } = recordingRest();
  const rec = new EventRecorder(rest, { repeatWindowMs: 60_000, maxSimilar: 3 });
  for (let i = 0; i < 20; i++)
    rec.event(so, "Normal", EventReason.KEDAScaleTargetActivated, `scaled to ${i}`);
  await rec.flush();
  const posts = writes.filter((w) => w.verb === "POST");
  assert.deepEqual(
    posts.map((p) => p.body.message),
    ["scaled to 0", "scaled to 1", "scaled to 2", "(combined from similar events): scaled to 3"],
  );
  const patches = writes.filter((w) => w.verb === "PATCH");
  assert.equal(patches.length, 1);
  assert.equal(patches[0]!.body.count, 17);
  assert.equal(patches[0]!.body.message, "(combined from similar events): scaled to 19");
});

test("a series whose Event is gone is created again with its running count", async () => {
  const { rest, writes } = recordingRest(true);
  const rec = new EventRecorder(rest, { repeatWindowMs: 0 });
  rec.event(so, "Normal", EventReason.ScaledObjectReady, "ready");
  await rec.flush();
  rec.event(so, "Normal", EventReason.ScaledObjectReady, "ready");
  await rec.flush();
  assert.deepEqual(
    writes.map((w) => `${w.verb} ${String(w.body.count)}`),
    ["POST 1", "PATCH 2", "POST 2"],
  );
});
