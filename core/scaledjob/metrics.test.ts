import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  aggregateScaledJobMetrics,
  averageTargetValue,
  scalerMetrics,
  type TriggerReading,
} from "./metrics.js";

describe("averageTargetValue (KEDA TestTargetAverageValue)", () => {
  const cases: [(number | undefined)[], number][] = [
    [[], 0],
    [[1, 1], 1],
    [[5, 5, 3], 4.333333333333333],
    [[5, 5, 4], 4.666666666666667],
    [[4, undefined], 2],
  ];
  for (const [targets, mean] of cases) {
    it(`[${targets.join(", ")}] → ${mean}`, () => assert.equal(averageTargetValue(targets), mean));
  }
});

describe("scalerMetrics", () => {
  it("maxValue is queue / target, at most the effective max", () => {
    assert.deepEqual(scalerMetrics(10, 2, true, 100), { queueLength: 10, maxValue: 5, isActive: true });
    assert.deepEqual(scalerMetrics(10, 2, true, 3), { queueLength: 10, maxValue: 3, isActive: true });
    assert.deepEqual(scalerMetrics(4, 5, true, 3), { queueLength: 4, maxValue: 0.8, isActive: true });
  });
  it("a target of 0 gives maxValue 0", () => {
    assert.equal(scalerMetrics(10, 0, true, 100).maxValue, 0);
  });
});

const r = (queueLength: number, active = true, targetAverageValue = 1): TriggerReading => ({
  queueLength,
  targetAverageValue,
  active,
});

describe("aggregateScaledJobMetrics: multipleScalersCalculation", () => {
  const readings = [r(3), r(8), r(5), r(100, false)];
  const cases: [string | undefined, number, number][] = [
    // [calculation, scaleTo, maxScale] with max 100
    [undefined, 8, 8],
    ["max", 8, 8],
    ["min", 3, 3],
    ["avg", 6, 6],
    ["sum", 16, 16],
    ["unknown", 8, 8],
  ];
  for (const [calc, scaleTo, maxScale] of cases) {
    it(`${calc ?? "unset"}: queue ${scaleTo}, budget ${maxScale}; inactive triggers ignored`, () => {
      const a = aggregateScaledJobMetrics(readings, calc, {});
      assert.equal(a.scaleTo, scaleTo);
      assert.equal(a.maxScale, maxScale);
      assert.equal(a.isActive, true);
      assert.deepEqual(a.activeTriggers, [0, 1, 2]);
    });
  }
  it("avg of fractions is rounded up", () => {
    const a = aggregateScaledJobMetrics([r(1), r(2)], "avg", {});
    assert.deepEqual([a.scaleTo, a.maxScale], [2, 2]);
  });
  it("sum is capped by the effective max", () => {
    const a = aggregateScaledJobMetrics([r(8), r(8)], "sum", { maxReplicaCount: 10 });
    assert.deepEqual([a.scaleTo, a.maxScale], [16, 10]);
  });
  it("max picks only a queue length strictly greater than 0, as KEDA", () => {
    const a = aggregateScaledJobMetrics([r(0)], "max", {});
    assert.equal(a.isActive, false);
    assert.deepEqual(a.activeTriggers, [0]);
  });
  it("min replaces a picked 0 by the next active trigger, as KEDA", () => {
    const a = aggregateScaledJobMetrics([r(0), r(4)], "min", {});
    assert.equal(a.scaleTo, 4);
    assert.equal(a.isActive, true);
  });
  it("min of one active trigger with 0 is active with 0", () => {
    const a = aggregateScaledJobMetrics([r(0)], "min", {});
    assert.deepEqual([a.isActive, a.scaleTo], [true, 0]);
  });
  it("nothing active: inactive and 0", () => {
    const a = aggregateScaledJobMetrics([r(5, false)], "sum", {});
    assert.deepEqual([a.isActive, a.scaleTo, a.maxScale], [false, 0, 0]);
  });
  it("minReplicaCount > 0 forces active", () => {
    const a = aggregateScaledJobMetrics([r(5, false)], "max", { minReplicaCount: 1 });
    assert.equal(a.isActive, true);
    assert.equal(a.scaleTo, 0);
  });
  it("a failed trigger is skipped and reported", () => {
    const a = aggregateScaledJobMetrics([{ error: "broker down" }, r(4)], "max", {});
    assert.deepEqual([a.isError, a.isActive, a.scaleTo], [true, true, 4]);
    assert.deepEqual(a.activeTriggers, [1]);
  });
  it("the budget uses the target: queue 10, target 2 → 5 jobs' worth", () => {
    const a = aggregateScaledJobMetrics([r(10, true, 2)], "max", {});
    assert.deepEqual([a.scaleTo, a.maxScale], [10, 5]);
  });
});
