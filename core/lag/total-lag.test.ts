import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  capTotalLag,
  desiredReplicasForLag,
  findFactors,
  nextBalancedFactor,
  type CapOptions,
} from "./total-lag.js";

const base: CapOptions = {
  lagThreshold: 10,
  allowIdleConsumers: false,
  limitToPartitionsWithLag: false,
  ensureEvenDistributionOfPartitions: false,
};

describe("findFactors (KEDA TestFindFactors)", () => {
  const cases: [number, number[]][] = [
    [10, [1, 2, 5, 10]],
    [13, [1, 13]],
    [17, [1, 17]],
    [25, [1, 5, 25]],
    [50, [1, 2, 5, 10, 25, 50]],
    [100, [1, 2, 4, 5, 10, 20, 25, 50, 100]],
    [1, [1]],
    [0, []],
    [-4, []],
  ];
  for (const [n, expected] of cases) {
    it(`factors of ${n}`, () => assert.deepEqual(findFactors(n), expected));
  }
});

describe("nextBalancedFactor (KEDA TestGetNextFactor: 100 partitions, T=10)", () => {
  const cases: [number, number][] = [
    [10, 1],
    [20, 2],
    [40, 4],
    [50, 5],
    [99, 10],
    [100, 10],
    [101, 20],
  ];
  for (const [lag, factor] of cases) {
    it(`lag ${lag} → ${factor}`, () => assert.equal(nextBalancedFactor(lag, 100, 10), factor));
  }
  it("no divisor is large enough → the partition count", () =>
    assert.equal(nextBalancedFactor(5000, 10, 10), 10));
});

describe("capTotalLag: the partition cap with D1", () => {
  // N = 3 partitions, T = 10: KEDA's table, where only the rows 31–39 change (D1).
  const rows: [number, number, number][] = [
    // [S, KEDA metric, lagscale metric]
    [0, 0, 0],
    [29, 29, 29],
    [30, 30, 30],
    [31, 31, 30],
    [35, 35, 30],
    [39, 39, 30],
    [40, 30, 30],
    [1000, 30, 30],
  ];
  for (const [s, keda, ours] of rows) {
    it(`D1: lag ${s} on 3 partitions, T=10 → metric ${ours} (KEDA ${keda}), at most 3 replicas`, () => {
      const r = capTotalLag(s, 3, 3, base);
      assert.equal(r.metricValue, ours);
      assert.equal(r.capped, s > 30);
      assert.equal(r.replicaBound, 3);
      assert.ok(desiredReplicasForLag(r.metricValue, 10) <= 3);
    });
  }
  it("D1: lag 35 asks for 3 replicas, lag 40 also 3: more lag never asks for fewer", () => {
    assert.equal(desiredReplicasForLag(capTotalLag(35, 3, 3, base).metricValue, 10), 3);
    assert.equal(desiredReplicasForLag(capTotalLag(40, 3, 3, base).metricValue, 10), 3);
  });
  it("allowIdleConsumers alone: no cap", () => {
    const r = capTotalLag(1000, 3, 3, { ...base, allowIdleConsumers: true });
    assert.deepEqual(r, { metricValue: 1000, replicaBound: undefined, capped: false, evenFactor: undefined });
  });
  it("T=1 (KEDA's e2e setting): the cap is the partition count", () => {
    assert.equal(capTotalLag(7, 3, 3, { ...base, lagThreshold: 1 }).metricValue, 3);
    assert.equal(capTotalLag(3, 3, 3, { ...base, lagThreshold: 1 }).metricValue, 3);
    assert.equal(capTotalLag(2, 3, 3, { ...base, lagThreshold: 1 }).metricValue, 2);
  });
  it("64 partitions, T=3000, huge lag → 192000 (the KEDA docs' example)", () => {
    assert.equal(capTotalLag(10_000_000, 64, 64, { ...base, lagThreshold: 3000 }).metricValue, 192_000);
  });
});

describe("capTotalLag: limitToPartitionsWithLag", () => {
  const limit = { ...base, limitToPartitionsWithLag: true };
  it("bound is the partitions with lag", () => {
    const r = capTotalLag(100, 10, 2, limit);
    assert.deepEqual(r, { metricValue: 20, replicaBound: 2, capped: true, evenFactor: undefined });
  });
  it("below the bound: unchanged", () => assert.equal(capTotalLag(15, 10, 2, limit).metricValue, 15));
  it("D1: lag 25 on 2 partitions with lag asks for 2, not 3", () => {
    assert.equal(capTotalLag(25, 10, 2, limit).metricValue, 20);
  });
  it("applies even with allowIdleConsumers set", () => {
    assert.equal(capTotalLag(100, 10, 2, { ...limit, allowIdleConsumers: true }).metricValue, 20);
  });
});

describe("capTotalLag: ensureEvenDistributionOfPartitions", () => {
  const even = { ...base, ensureEvenDistributionOfPartitions: true };
  // 100 partitions, T=10: the metric is the next factor × T.
  const cases: [number, number][] = [
    [1, 10],
    [10, 10],
    [11, 20],
    [20, 20],
    [21, 40],
    [45, 50],
    [99, 100],
    [101, 200],
    [251, 500],
    [5000, 1000],
  ];
  for (const [s, metric] of cases) {
    it(`lag ${s} on 100 partitions → ${metric}`, () =>
      assert.equal(capTotalLag(s, 100, 100, even).metricValue, metric));
  }
  it("6 partitions, T=10, lag 35 → 6 replicas' worth (divisors 1,2,3,6)", () => {
    const r = capTotalLag(35, 6, 6, even);
    assert.equal(r.evenFactor, 6);
    assert.equal(r.metricValue, 60);
  });
  it("D2: no lag gives 0, not one replica's worth", () => {
    assert.deepEqual(capTotalLag(0, 6, 0, even), {
      metricValue: 0,
      replicaBound: 6,
      capped: false,
      evenFactor: undefined,
    });
  });
  it("D2: negative total lag also gives 0", () => assert.equal(capTotalLag(-5, 6, 0, even).metricValue, 0));
  it("with allowIdleConsumers the cap still applies", () => {
    assert.equal(capTotalLag(5000, 6, 6, { ...even, allowIdleConsumers: true }).metricValue, 60);
  });
});

describe("capTotalLag: negative totals", () => {
  it("a negative total lag is reported as 0", () =>
    assert.equal(capTotalLag(-50, 3, 0, base).metricValue, 0));
  it("also without a cap", () => {
    assert.equal(capTotalLag(-50, 3, 0, { ...base, allowIdleConsumers: true }).metricValue, 0);
  });
});

describe("desiredReplicasForLag", () => {
  const cases: [number, number, number][] = [
    [0, 10, 0],
    [-5, 10, 0],
    [Number.NaN, 10, 0],
    [1, 10, 1],
    [10, 10, 1],
    [11, 10, 2],
    [30, 10, 3],
    [192_000, 3000, 64],
  ];
  for (const [metric, t, replicas] of cases) {
    it(`ceil(${metric} / ${t}) → ${replicas}`, () =>
      assert.equal(desiredReplicasForLag(metric, t), replicas));
  }
  it("rejects a lagThreshold that is not positive", () => {
    assert.throws(() => desiredReplicasForLag(10, 0), RangeError);
    assert.throws(() => desiredReplicasForLag(10, -1), RangeError);
  });
});
