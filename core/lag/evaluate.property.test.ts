import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { desiredReplicasForLag } from "./total-lag.js";
import { evaluateKafkaLag, type LagEvaluationOk, type PersistentLagMemory } from "./evaluate.js";
import type { LagOptions } from "./options.js";
import type { PartitionOffsets } from "./partition-lag.js";

const optionsArb: fc.Arbitrary<LagOptions> = fc.record({
  consumerGroup: fc.constant("g"),
  topic: fc.constant("t"),
  lagThreshold: fc.integer({ min: 1, max: 1000 }),
  activationLagThreshold: fc.integer({ min: 0, max: 100 }),
  offsetResetPolicy: fc.constantFrom("latest" as const, "earliest" as const),
  allowIdleConsumers: fc.boolean(),
  excludePersistentLag: fc.boolean(),
  scaleToZeroOnInvalidOffset: fc.boolean(),
  limitToPartitionsWithLag: fc.boolean(),
  ensureEvenDistributionOfPartitions: fc.boolean(),
});

/** A partition as (committed offset or -1, lag ≥ 0 above it, log start, is it remembered as stuck). */
const partitionArb = fc.record({
  committed: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 1_000_000 })),
  lag: fc.integer({ min: 0, max: 100_000 }),
  retained: fc.integer({ min: 0, max: 100_000 }),
  stuck: fc.boolean(),
});
type P = { committed: number; lag: number; retained: number; stuck: boolean };

function build(ps: readonly P[]): { partitions: PartitionOffsets[]; memory: PersistentLagMemory } {
  const memory = new Map<string, number>();
  const partitions = ps.map((p, partition): PartitionOffsets => {
    const base = Math.max(p.committed, 0);
    const latest = base + p.lag;
    if (p.stuck && p.committed >= 0) memory.set(`t/${partition}`, p.committed);
    return {
      topic: "t",
      partition,
      committed: p.committed,
      latest,
      logStart: Math.max(0, latest - p.retained),
    };
  });
  return { partitions, memory };
}

function evaluate(options: LagOptions, ps: readonly P[]): LagEvaluationOk {
  const { partitions, memory } = build(ps);
  const r = evaluateKafkaLag(options, { partitions }, memory);
  if (!r.ok) throw new Error(r.error);
  return r;
}

const uncapped = (o: LagOptions) =>
  o.allowIdleConsumers && !o.limitToPartitionsWithLag && !o.ensureEvenDistributionOfPartitions;

describe("lag properties", () => {
  it("never asks for more replicas than partitions (or partitions with lag) unless allowIdleConsumers", () => {
    fc.assert(
      fc.property(optionsArb, fc.array(partitionArb, { minLength: 1, maxLength: 40 }), (o, ps) => {
        const r = evaluate(o, ps);
        const replicas = desiredReplicasForLag(r.metricValue, o.lagThreshold);
        if (uncapped(o)) {
          assert.equal(r.replicaBound, undefined);
          return;
        }
        assert.ok(replicas <= r.partitionCount, `${replicas} replicas for ${r.partitionCount} partitions`);
        if (o.limitToPartitionsWithLag) assert.ok(replicas <= r.partitionsWithLag);
      }),
      { numRuns: 2000 },
    );
  });

  it("D1: more lag never gives a smaller metric", () => {
    fc.assert(
      fc.property(
        optionsArb,
        fc.array(fc.tuple(partitionArb, fc.integer({ min: 0, max: 100_000 })), {
          minLength: 1,
          maxLength: 40,
        }),
        (o, rows) => {
          const before = evaluate(
            o,
            rows.map(([p]) => p),
          );
          const after = evaluate(
            o,
            rows.map(([p, more]) => ({ ...p, lag: p.lag + more })),
          );
          assert.ok(after.metricValue >= before.metricValue, `${before.metricValue} → ${after.metricValue}`);
          assert.ok(
            desiredReplicasForLag(after.metricValue, o.lagThreshold) >=
              desiredReplicasForLag(before.metricValue, o.lagThreshold),
          );
          if (before.active) assert.ok(after.active);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("D1: the capped metric is min(lag, bound × T) without even distribution", () => {
    fc.assert(
      fc.property(optionsArb, fc.array(partitionArb, { minLength: 1, maxLength: 40 }), (o0, ps) => {
        const o = { ...o0, ensureEvenDistributionOfPartitions: false };
        const r = evaluate(o, ps);
        const bound = r.replicaBound;
        const expected = bound === undefined ? r.totalLag : Math.min(r.totalLag, bound * o.lagThreshold);
        assert.equal(r.metricValue, Math.max(0, expected));
      }),
      { numRuns: 1000 },
    );
  });

  it("the metric is ≥ 0, even when committed offsets are past the log end", () => {
    fc.assert(
      fc.property(
        optionsArb,
        fc.array(fc.tuple(fc.integer({ min: -1, max: 1000 }), fc.integer({ min: 0, max: 1000 })), {
          maxLength: 30,
        }),
        (o, rows) => {
          const partitions = rows.map(([committed, latest], partition): PartitionOffsets => ({
            topic: "t",
            partition,
            committed,
            latest,
          }));
          const r = evaluateKafkaLag(o, { partitions });
          assert.ok(r.ok);
          if (!r.ok) return;
          assert.ok(r.metricValue >= 0);
          assert.ok(Number.isFinite(r.metricValue));
          assert.equal(r.active, r.totalLagWithPersistent > o.activationLagThreshold);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("D2: the metric is 0 exactly when the total lag is ≤ 0", () => {
    fc.assert(
      fc.property(optionsArb, fc.array(partitionArb, { minLength: 1, maxLength: 40 }), (o, ps) => {
        const r = evaluate(o, ps);
        assert.equal(r.metricValue === 0, r.totalLag <= 0);
      }),
      { numRuns: 1000 },
    );
  });
});
