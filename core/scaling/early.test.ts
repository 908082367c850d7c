import assert from "node:assert/strict";
import { test } from "node:test";
import { earlyEvaluationReason, estimateLag, type EarlyEvaluationInput } from "./early.js";

const base: EarlyEvaluationInput = {
  lag: 0,
  lagThreshold: 10,
  activationLagThreshold: 0,
  currentReplicas: 1,
  maxReplicaCount: 5,
};

test("early evaluation: only activation and scale-up are worth an evaluation before the poll", () => {
  const rows: [string, Partial<EarlyEvaluationInput>, string | undefined][] = [
    ["at 0 replicas, lag above activation", { currentReplicas: 0, lag: 1 }, "activation"],
    [
      "at 0 replicas, lag equal to activation (strictly greater needed)",
      { currentReplicas: 0, lag: 5, activationLagThreshold: 5 },
      undefined,
    ],
    ["at 0 replicas, no lag", { currentReplicas: 0, lag: 0 }, undefined],
    ["1 replica, lag within one replica's threshold", { lag: 10 }, undefined],
    ["1 replica, lag inside the tolerance", { lag: 11 }, undefined],
    ["1 replica, lag asks for 2", { lag: 12 }, "scale-up"],
    ["1 replica, lag 100 asks for 5", { lag: 100 }, "scale-up"],
    ["already at max", { lag: 100, currentReplicas: 5 }, undefined],
    ["partition cap already reached", { lag: 100, currentReplicas: 3, partitions: 3 }, undefined],
    ["partition cap above current", { lag: 100, currentReplicas: 2, partitions: 3 }, "scale-up"],
    ["3 replicas, lag for 3", { lag: 30, currentReplicas: 3 }, undefined],
    ["3 replicas, lag for 4", { lag: 34, currentReplicas: 3 }, "scale-up"],
    ["zero tolerance", { lag: 11, tolerance: 0 }, "scale-up"],
    ["scale-in is never early", { lag: 0, currentReplicas: 5 }, undefined],
    ["nonsense threshold", { lag: 100, lagThreshold: 0 }, undefined],
    ["NaN lag", { lag: Number.NaN }, undefined],
  ];
  for (const [name, over, want] of rows) {
    assert.equal(earlyEvaluationReason({ ...base, ...over }), want, name);
  }
});

test("estimated lag: lag at the evaluation plus the growth of the trigger's partitions' log-end offsets", () => {
  const then = new Map([
    [0, 100],
    [1, 50],
    [2, 7],
  ]);
  const rows: [string, number, Map<number, number>, { lag: number; growth: number }][] = [
    ["nothing produced", 4, new Map(then), { lag: 4, growth: 0 }],
    [
      "growth on two partitions",
      4,
      new Map([
        [0, 110],
        [1, 55],
        [2, 7],
      ]),
      { lag: 19, growth: 15 },
    ],
    [
      "partitions the trigger does not read add nothing (partitionLimitation)",
      0,
      new Map([
        [0, 100],
        [1, 50],
        [2, 7],
        [3, 1000],
      ]),
      { lag: 0, growth: 0 },
    ],
    ["a partition unread now adds nothing", 0, new Map([[0, 130]]), { lag: 30, growth: 30 }],
    [
      "a log-end offset that went back is no growth",
      2,
      new Map([
        [0, 0],
        [1, 60],
        [2, 7],
      ]),
      { lag: 12, growth: 10 },
    ],
    ["a negative lag counts as 0", -3, new Map([[0, 101]]), { lag: 1, growth: 1 }],
  ];
  for (const [name, lag, now, want] of rows) assert.deepEqual(estimateLag(lag, then, now), want, name);
});
