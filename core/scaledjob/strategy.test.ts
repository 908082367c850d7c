import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  effectiveMaxScale,
  parseRunningJobPercentage,
  resolveScalingStrategy,
  type ScalingStrategy,
} from "./strategy.js";

/** [maxScale, running, pending, maxReplicaCount] → effective max scale, with scaleTo = 1 (KEDA's vectors). */
type Vector = [maxScale: number, running: number, pending: number, maxReplicaCount: number, expected: number];

function check(strategy: ScalingStrategy, vectors: Vector[]) {
  for (const [maxScale, running, pending, max, expected] of vectors) {
    it(`(${maxScale}, ${running}, ${pending}, ${max}) → ${expected}`, () => {
      assert.equal(
        effectiveMaxScale(strategy, maxScale, running, pending, max, 1).effectiveMaxScale,
        expected,
      );
    });
  }
}

describe("resolveScalingStrategy (KEDA TestNewNewScalingStrategy)", () => {
  it("custom with deduction 10 and percentage 0 is custom", () => {
    assert.deepEqual(
      resolveScalingStrategy({
        strategy: "custom",
        customScalingQueueLengthDeduction: 10,
        customScalingRunningJobPercentage: "0",
      }),
      { kind: "custom", queueLengthDeduction: 10, runningJobPercentage: 0 },
    );
  });
  it("accurate", () =>
    assert.deepEqual(resolveScalingStrategy({ strategy: "accurate" }), { kind: "accurate" }));
  it("eager", () => assert.deepEqual(resolveScalingStrategy({ strategy: "eager" }), { kind: "eager" }));
  it("unset is default", () => assert.deepEqual(resolveScalingStrategy(undefined), { kind: "default" }));
  it("default", () => assert.deepEqual(resolveScalingStrategy({ strategy: "default" }), { kind: "default" }));
  it("an unknown name is default", () =>
    assert.deepEqual(resolveScalingStrategy({ strategy: "Eager" }), { kind: "default" }));
  it("custom without a percentage falls back to default", () => {
    assert.deepEqual(resolveScalingStrategy({ strategy: "custom" }), { kind: "default" });
    assert.deepEqual(
      resolveScalingStrategy({
        strategy: "custom",
        customScalingQueueLengthDeduction: 1,
        customScalingRunningJobPercentage: "",
      }),
      { kind: "default" },
    );
  });
  it("custom with a percentage and no deduction deducts 0", () => {
    assert.deepEqual(
      resolveScalingStrategy({ strategy: "custom", customScalingRunningJobPercentage: "0.5" }),
      {
        kind: "custom",
        queueLengthDeduction: 0,
        runningJobPercentage: 0.5,
      },
    );
  });
});

describe("parseRunningJobPercentage (Go ParseFloat, decimal)", () => {
  const cases: [string | undefined, number | undefined][] = [
    ["0.5", 0.5],
    ["0", 0],
    ["1", 1],
    ["-0.25", -0.25],
    [".5", 0.5],
    ["5.", 5],
    ["1e-1", 0.1],
    ["+2", 2],
    ["", undefined],
    [" 0.5", undefined],
    ["abc", undefined],
    ["0.5x", undefined],
    ["Inf", undefined],
    ["NaN", undefined],
    [undefined, undefined],
  ];
  for (const [text, value] of cases) {
    it(`${JSON.stringify(text)} → ${value}`, () => assert.equal(parseRunningJobPercentage(text), value));
  }
});

describe("default strategy (KEDA TestDefaultScalingStrategy)", () => {
  check({ kind: "default" }, [
    [3, 2, 0, 5, 1],
    [2, 0, 0, 5, 2],
  ]);
});

describe("custom strategy (KEDA TestCustomScalingStrategy)", () => {
  describe("deduction 1, percentage 0.5", () => {
    check(
      resolveScalingStrategy({
        strategy: "custom",
        customScalingQueueLengthDeduction: 1,
        customScalingRunningJobPercentage: "0.5",
      }),
      [
        [3, 2, 0, 5, 1],
        [10, 0, 0, 10, 9],
      ],
    );
  });
  describe("both parameters unset behaves as default", () => {
    check(resolveScalingStrategy({ strategy: "custom" }), [
      [3, 2, 0, 5, 1],
      [2, 0, 0, 5, 2],
    ]);
  });
  describe("deduction 2, percentage 0", () => {
    check(
      resolveScalingStrategy({
        strategy: "custom",
        customScalingQueueLengthDeduction: 2,
        customScalingRunningJobPercentage: "0",
      }),
      [[3, 2, 0, 5, 1]],
    );
  });
  describe("deduction −2, percentage 0: capped by the max", () => {
    check(
      resolveScalingStrategy({
        strategy: "custom",
        customScalingQueueLengthDeduction: -2,
        customScalingRunningJobPercentage: "0",
      }),
      [[3, 2, 0, 4, 4]],
    );
  });
  describe("no deduction, percentage 0.5 (KEDA TestCustomScalingStrategyNilQueueLengthDeduction)", () => {
    check(resolveScalingStrategy({ strategy: "custom", customScalingRunningJobPercentage: "0.5" }), [
      [10, 2, 0, 100, 9],
      [10, 0, 0, 100, 10],
    ]);
  });
  describe("the running share is truncated toward zero", () => {
    check({ kind: "custom", queueLengthDeduction: 0, runningJobPercentage: 0.5 }, [
      [10, 3, 0, 100, 9],
      [10, 1, 0, 100, 10],
    ]);
  });
});

describe("accurate strategy (KEDA TestAccurateScalingStrategy)", () => {
  check({ kind: "accurate" }, [
    [3, 2, 0, 5, 3],
    [5, 2, 0, 5, 3],
    [3, 4, 2, 10, 1],
    [5, 4, 2, 5, 1],
    [3, 3, 3, 5, 0],
    [15, 15, 15, 20, 0],
    [10, 10, 10, 15, 0],
    [20, 15, 10, 20, 5],
  ]);
});

describe("eager strategy (KEDA TestEagerScalingStrategy)", () => {
  const vectors: [number, number, number, number, number, number][] = [
    // [maxScale, running, pending, max, effective, scaleTo]
    [4, 3, 0, 10, 4, 10],
    [4, 0, 3, 10, 4, 10],
    [4, 7, 0, 10, 3, 10],
    [4, 1, 6, 10, 3, 10],
    [15, 0, 0, 10, 10, 10],
  ];
  for (const [maxScale, running, pending, max, effective, scaleTo] of vectors) {
    it(`(${maxScale}, ${running}, ${pending}, ${max}) → (${effective}, ${scaleTo})`, () => {
      assert.deepEqual(effectiveMaxScale({ kind: "eager" }, maxScale, running, pending, max, 1), {
        effectiveMaxScale: effective,
        scaleTo,
      });
    });
  }
  it("the other strategies keep scaleTo", () => {
    for (const s of [{ kind: "default" }, { kind: "accurate" }] as const) {
      assert.equal(effectiveMaxScale(s, 4, 0, 0, 10, 7).scaleTo, 7);
    }
  });
});
