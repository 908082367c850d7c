/**
 * One bad object cannot take the evaluation loop down. The Kubernetes side and the lag reader are fakes
 * (in memory, recording what the controller writes): the behaviour under test is the controller's own
 * bookkeeping of a failing evaluation, which needs a failure to inject. The real API server and Kafka are
 * exercised by test/controller/scaledobject-*.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import type { ScaledObject } from "../../core/crd/index.js";
import type { LagReader, LagRequest } from "../../core/kafka/types.js";
import { createLogger } from "../../core/log.js";
import type { AuthSources } from "../auth/index.js";
import type { KubeIO, ScaleInfo } from "../kube/index.js";
import { ControllerMetrics } from "../metrics.js";
import { ScaledObjectController } from "./controller.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function scaledObject(name: string): ScaledObject {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      generation: 1,
      finalizers: ["finalizer.lagscale.io"],
    },
    spec: {
      scaleTargetRef: { name: `${name}-consumer` },
      pollingInterval: 1,
      triggers: [
        { type: "kafka", metadata: { bootstrapServers: "b:9092", consumerGroup: name, topic: "orders" } },
      ],
    },
  } as ScaledObject;
}

interface Recorded {
  statuses: { name: string; changes: Record<string, unknown> }[];
  events: { name: string; type: string; reason: string; message: string }[];
  reads: string[];
}

/**
 * A fake KubeIO: an informer over the objects of `byKey` (a test may replace one, as a watch event does), a
 * /scale that always answers 1 replica, writes recorded.
 */
function fakeKube(
  objects: ScaledObject[],
  rec: Recorded,
  byKey = new Map(objects.map((o) => [`ns/${o.metadata.name}`, o])),
): KubeIO {
  let onChange: ((key: string) => void) | undefined;
  const informer = {
    onChange: (h: (key: string) => void) => {
      onChange = h;
      return () => undefined;
    },
    get: (key: string) => byKey.get(key),
    list: () => [...byKey.values()],
    hasSynced: () => true,
  };
  const kube = {
    informer: () => informer,
    start: () => undefined,
    synced: async () => {
      for (const key of byKey.keys()) onChange?.(key);
    },
    close: async () => undefined,
    finalizers: { add: async () => ({ changed: false }), remove: async () => ({ changed: false }) },
    events: {
      event: (so: ScaledObject, type: string, reason: string, message: string) =>
        rec.events.push({ name: so.metadata.name ?? "", type, reason, message }),
    },
    status: {
      patch: async (_r: unknown, so: ScaledObject, changes: Record<string, unknown>) => {
        rec.statuses.push({ name: so.metadata.name ?? "", changes });
      },
    },
    scale: {
      get: async (namespace: string, ref: { name: string }): Promise<ScaleInfo> => ({
        namespace,
        name: ref.name,
        target: {
          group: "apps",
          version: "v1",
          kind: "Deployment",
          resource: "deployments",
          namespaced: true,
          scalable: true,
        },
        replicas: 1,
        statusReplicas: 1,
        selector: "app=x",
        resourceVersion: "1",
      }),
      setReplicas: async () => ({ replicas: 1 }),
    },
    pods: { forTarget: async () => [] },
  };
  return kube as unknown as KubeIO; // only the members the controller uses
}

test("an object whose evaluation throws gets Ready=False, a Warning Event and a backoff; the others go on", async () => {
  const rec: Recorded = { statuses: [], events: [], reads: [] };
  // The fake reader throws (synchronously, breaking its own contract) for group "bad"; "good" reads fine.
  const reader: LagReader = {
    read: (request: LagRequest) => {
      rec.reads.push(request.consumerGroup);
      if (request.consumerGroup === "bad") throw new TypeError("reader exploded");
      return Promise.resolve({
        ok: true,
        topics: ["orders"],
        partitions: [{ topic: "orders", partition: 0, committed: 5, logEnd: 10, logStart: 0 }],
      });
    },
    stats: () => ({ clusters: [] }),
    close: async () => undefined,
  } as unknown as LagReader; // a fake: read is what the controller calls
  const auth = {} as AuthSources; // no authenticationRef and no *FromEnv: never called
  const controller = new ScaledObjectController({
    kube: fakeKube([scaledObject("good"), scaledObject("bad"), scaledObject("also-good")], rec),
    reader,
    metrics: new ControllerMetrics(new Registry()),
    logger: createLogger("controller-test", "silent"),
    authSources: auth,
    random: () => 0,
  });
  controller.start();
  // pollingInterval 1 s: the first evaluation at once, then about three polls.
  await sleep(3_300);
  await controller.stop();

  const count = (group: string) => rec.reads.filter((g) => g === group).length;
  assert.ok(count("good") >= 3, `good read ${count("good")} times`);
  assert.ok(count("also-good") >= 3, `also-good read ${count("also-good")} times`);
  assert.equal(count("bad"), 1, "bad is not tried again within its 10 s backoff");

  const badStatus = rec.statuses.filter((s) => s.name === "bad");
  assert.equal(badStatus.length, 1);
  const ready = (
    badStatus[0]!.changes.conditions as { type: string; status: string; reason: string; message: string }[]
  )[0]!;
  assert.deepEqual([ready.type, ready.status, ready.reason], ["Ready", "False", "EvaluationFailed"]);
  assert.match(ready.message, /evaluation failed: reader exploded/);
  assert.deepEqual(
    rec.events.filter((e) => e.name === "bad" && e.type === "Warning").map((e) => e.reason),
    ["ScaledObjectCheckFailed"],
  );
  for (const name of ["good", "also-good"]) {
    const last = rec.statuses.filter((s) => s.name === name).at(-1);
    assert.ok(last, `${name} has a status`);
    assert.deepEqual(last.changes.externalMetricNames, ["s0-kafka-orders"], name);
    assert.ok(!rec.events.some((e) => e.name === name && e.type === "Warning"), `${name} has no warning`);
  }
});

test("an evaluation past its budget is reported, and not started again while it still runs", async () => {
  const rec: Recorded = { statuses: [], events: [], reads: [] };
  let release: () => void = () => undefined;
  const hung = new Promise<void>((r) => (release = r));
  // A fake reader whose read for "slow" hangs until released (a stuck connection); "fast" answers.
  const reader = {
    read: async (request: LagRequest) => {
      rec.reads.push(request.consumerGroup);
      if (request.consumerGroup === "slow") await hung;
      return {
        ok: true,
        topics: ["orders"],
        partitions: [{ topic: "orders", partition: 0, committed: 1, logEnd: 1 }],
      };
    },
    stats: () => ({ clusters: [] }),
    close: async () => undefined,
  } as unknown as LagReader;
  const controller = new ScaledObjectController({
    kube: fakeKube([scaledObject("slow"), scaledObject("fast")], rec),
    reader,
    metrics: new ControllerMetrics(new Registry()),
    logger: createLogger("controller-test", "silent"),
    authSources: {} as AuthSources,
    evaluationBudgetMs: 300,
    random: () => 0,
  });
  controller.start();
  await sleep(2_300);
  const slowReads = rec.reads.filter((g) => g === "slow").length;
  const slowReady = rec.statuses
    .filter((s) => s.name === "slow")
    .map((s) => (s.changes.conditions as { type: string; reason: string }[])[0]!.reason);
  release();
  await controller.stop();

  assert.equal(slowReads, 1, "the hung evaluation is not started again");
  assert.ok(rec.reads.filter((g) => g === "fast").length >= 2, "the other object goes on");
  assert.deepEqual(slowReady, ["EvaluationTimedOut"]);
});

test("an object is validated once per version: a poll of the same cached object reuses it, a new version is checked again", async () => {
  const rec: Recorded = { statuses: [], events: [], reads: [] };
  const reader = {
    read: async (request: LagRequest) => {
      rec.reads.push(request.consumerGroup);
      return {
        ok: true,
        topics: ["orders"],
        partitions: [{ topic: "orders", partition: 0, committed: 1, logEnd: 1 }],
      };
    },
    stats: () => ({ clusters: [] }),
    close: async () => undefined,
  } as unknown as LagReader; // a fake: read is what the controller calls
  const first = scaledObject("x");
  const byKey = new Map([["ns/x", first]]);
  const controller = new ScaledObjectController({
    kube: fakeKube([first], rec, byKey),
    reader,
    metrics: new ControllerMetrics(new Registry()),
    logger: createLogger("controller-test", "silent"),
    authSources: {} as AuthSources,
    random: () => 0,
  });
  controller.start();
  await sleep(1_300);
  // The informer never changes a cached object in place; doing so here shows the first check is reused.
  (first.spec as { maxReplicaCount?: number }).maxReplicaCount = -1;
  await sleep(1_000);
  const readsWhileReused = rec.reads.length;
  const warningsWhileReused = rec.events.filter((e) => e.type === "Warning").length;
  // A new version, as a watch event delivers it, is validated again: its invalid spec is reported.
  const second = structuredClone(first);
  byKey.set("ns/x", second);
  await sleep(1_300);
  await controller.stop();

  assert.ok(readsWhileReused >= 2, `polled ${readsWhileReused} times with the first check`);
  assert.equal(warningsWhileReused, 0);
  const reasons = rec.statuses.map(
    (s) => (s.changes.conditions as { reason: string }[] | undefined)?.[0]?.reason,
  );
  assert.ok(reasons.includes("ScaledObjectCheckFailed"), `reasons: ${reasons.join(", ")}`);
  assert.match(rec.events.find((e) => e.type === "Warning")?.message ?? "", /maxReplicaCount/);
});
