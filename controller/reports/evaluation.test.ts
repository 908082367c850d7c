import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { SidecarReport } from "../../core/reports/schema.js";
import type { TargetPod } from "../kube/index.js";
import { samplePod } from "../../test/support/reports.js";
import { clearMarks, evaluationReports, markForScaleIn } from "./evaluation.js";

const NOW = 1_800_000_000_000;
const pod = (name: string, over: Partial<TargetPod> = {}): TargetPod =>
  samplePod({ name, uid: `uid-${name}`, ip: `127.1.0.${name.charCodeAt(0) - 96}`, ...over });
function report(p: TargetPod, lag: number, rate: number): SidecarReport {
  return {
    version: 1,
    pod: { namespace: "shop", name: p.name, ip: p.ip! },
    scaledObject: "consumer",
    consumerGroup: "g1",
    observedAt: NOW,
    urgent: false,
    state: lag > 0 ? "busy" : "idle",
    groupState: "Stable",
    members: 1,
    partitions:
      lag > 0 || rate > 0
        ? [
            {
              topic: "orders",
              partition: p.name.charCodeAt(0),
              committedOffset: 0,
              logEndOffset: lag,
              lag,
              stalledForMs: 0,
              ratePerSecond: rate,
              stalled: false,
            },
          ]
        : [],
    lag,
    ratePerSecond: rate,
  };
}
const trigger = { view: { name: "s0", consumerGroup: "g1", topic: "orders" }, totalLag: 600, partitions: 8 };

describe("evaluationReports", () => {
  const a = pod("a");
  const b = pod("b");
  it("no kept reports: no summary (the evaluation is KEDA's)", () => {
    const r = evaluationReports({
      kept: [],
      pods: [a, b],
      triggers: [trigger],
      now: NOW,
      maxReplicaCount: 10,
    });
    assert.equal(r.summary, undefined);
  });
  it("the drain target from the measured per-pod rate, only with drainTimeSeconds", () => {
    const kept = [{ report: report(a, 300, 2), receivedAt: NOW - 1000 }];
    const base = { kept, pods: [a, b], triggers: [trigger], now: NOW, maxReplicaCount: 10 };
    assert.deepEqual(evaluationReports(base).summary, {});
    // 600 messages at 2/s per pod in 60 s: 5 pods.
    assert.deepEqual(evaluationReports({ ...base, drainTimeSeconds: 60 }).summary, { drainReplicas: 5 });
    assert.deepEqual(
      evaluationReports({ ...base, drainTimeSeconds: 10 }).summary,
      { drainReplicas: 8 },
      "capped at the partitions",
    );
  });
  it("terminating pods are not ranked", () => {
    const kept = [{ report: report(a, 0, 0), receivedAt: NOW }];
    const r = evaluationReports({
      kept,
      pods: [a, pod("b", { terminating: true })],
      triggers: [trigger],
      now: NOW,
      maxReplicaCount: 10,
    });
    assert.deepEqual(
      r.view.pods.map((p) => p.name),
      ["a"],
    );
  });
});

describe("deletion-cost marks", () => {
  // A recording writer stands in for PodClient: the real PATCH is tested on the API server.
  const writer = () => {
    const writes: [string, number | null][] = [];
    return {
      writes,
      setDeletionCost: (_ns: string, name: string, cost: number | null) => (
        writes.push([name, cost]),
        Promise.resolve()
      ),
    };
  };
  const idle = pod("a");
  const busy = pod("b");
  const unknown = pod("c");
  const kept = [
    { report: report(idle, 0, 0), receivedAt: NOW },
    { report: report(busy, 40, 1), receivedAt: NOW },
  ];
  const er = evaluationReports({
    kept,
    pods: [idle, busy, unknown],
    triggers: [trigger],
    now: NOW,
    maxReplicaCount: 10,
  });

  it("the idle pod goes first, then the busy one; a pod without a report is never picked before them", async () => {
    const w = writer();
    const marked = new Set<string>();
    await markForScaleIn(w, [idle, busy, unknown], er.view, 2, marked, pino({ level: "silent" }));
    assert.deepEqual(w.writes, [
      ["a", -2],
      ["b", -1],
    ]);
    assert.deepEqual([...marked].sort(), ["a", "b"]);
  });
  it("a later scale-in takes the mark off a pod that now stays; clearMarks takes off the rest", async () => {
    const w = writer();
    const marked = new Set(["a", "b"]);
    const pods = [idle, pod("b", { deletionCost: -1 }), unknown];
    await markForScaleIn(w, pods, er.view, 1, marked, pino({ level: "silent" }));
    assert.deepEqual(w.writes, [
      ["a", -1],
      ["b", null],
    ]);
    const w2 = writer();
    await clearMarks(w2, [pod("a", { deletionCost: -1 }), unknown], marked);
    assert.deepEqual(w2.writes, [["a", null]]);
    assert.equal(marked.size, 0);
  });
});
