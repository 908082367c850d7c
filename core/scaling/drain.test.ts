import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decideScaledObject, type TriggerInput } from "./decide.js";
import { drainReplicas, type DrainInput } from "./drain.js";
import { scalingSpecWithDefaults } from "./spec.js";

const base: DrainInput = { backlog: 600, perPodRate: 2, drainTimeSeconds: 60, maxReplicaCount: 100 };

describe("drainReplicas", () => {
  const cases: [string, Partial<DrainInput>, number | undefined][] = [
    ["600 messages at 2/s per pod within 60 s: 5 pods", {}, 5],
    ["rounds up", { backlog: 601 }, 6],
    ["capped at the partitions", { partitions: 4 }, 4],
    ["capped at maxReplicaCount", { maxReplicaCount: 3 }, 3],
    ["a small backlog still needs one pod", { backlog: 1 }, 1],
    ["no measured rate: no target", { perPodRate: undefined }, undefined],
    ["a rate of 0 measures nothing", { perPodRate: 0 }, undefined],
    ["no backlog: no target", { backlog: 0 }, undefined],
    ["no drain time: no target", { drainTimeSeconds: 0 }, undefined],
    ["partitions 0 means unknown: no cap", { partitions: 0 }, 5],
  ];
  for (const [name, over, want] of cases) {
    it(name, () => assert.equal(drainReplicas({ ...base, ...over }), want));
  }

  it("property: within 1..min(partitions, maxReplicaCount), and enough pods to drain in time when uncapped", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.double({ min: 0.01, max: 1000, noNaN: true }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 200 }),
        (backlog, perPodRate, drainTimeSeconds, partitions, maxReplicaCount) => {
          const n = drainReplicas({ backlog, perPodRate, drainTimeSeconds, partitions, maxReplicaCount });
          assert.ok(n !== undefined && n >= 1 && n <= Math.min(partitions, maxReplicaCount));
          if (n < Math.min(partitions, maxReplicaCount)) {
            assert.ok(n * perPodRate * drainTimeSeconds >= backlog * (1 - 1e-9));
          }
        },
      ),
    );
  });
});

describe("the drain target in the decision", () => {
  const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
  const lag = (value: number): TriggerInput => ({
    name: "s0-kafka-orders",
    type: "kafka",
    metricValue: value,
    target: 10,
    metricType: "AverageValue",
    active: value > 0,
  });
  const replicasAfter = (cur: number, lagValue: number, drain?: number): number => {
    const r = decideScaledObject({
      spec: scalingSpecWithDefaults({ maxReplicaCount: 20 }),
      triggers: [lag(lagValue)],
      currentReplicas: cur,
      now: NOW,
      ...(drain === undefined ? {} : { reports: { drainReplicas: drain } }),
    });
    return r.decision.kind === "scale" ? r.decision.replicas : cur;
  };
  it("raises the lagThreshold recommendation when the backlog would not drain in time", () => {
    assert.equal(replicasAfter(2, 30), 3, "lagThreshold alone: 30 / 10");
    assert.equal(replicasAfter(2, 30, 5), 5);
    assert.equal(replicasAfter(2, 30, 8), 6, "the HPA's scale-up policy still applies (4 pods per 15 s)");
  });
  it("never lowers it", () => {
    assert.equal(replicasAfter(5, 60), 6);
    assert.equal(replicasAfter(5, 60, 1), 6);
  });
  it("never activates from 0: that stays with the triggers", () => {
    assert.equal(replicasAfter(0, 0, 8), 0);
  });
});
