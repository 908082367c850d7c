import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  evaluateKafkaLag,
  partitionKey,
  type LagEvaluationOk,
  type PersistentLagMemory,
} from "./evaluate.js";
import type { LagOptions } from "./options.js";
import type { PartitionOffsets } from "./partition-lag.js";

const defaults: LagOptions = {
  consumerGroup: "g",
  topic: "t",
  lagThreshold: 10,
  activationLagThreshold: 0,
  offsetResetPolicy: "latest",
  allowIdleConsumers: false,
  excludePersistentLag: false,
  scaleToZeroOnInvalidOffset: false,
  limitToPartitionsWithLag: false,
  ensureEvenDistributionOfPartitions: false,
};

function parts(
  ...rows: [committed: number | undefined, latest?: number, logStart?: number][]
): PartitionOffsets[] {
  return rows.map(([committed, latest, logStart], partition) => ({
    topic: "t",
    partition,
    committed,
    latest,
    logStart,
  }));
}

function ok(
  options: Partial<LagOptions>,
  partitions: PartitionOffsets[],
  memory?: PersistentLagMemory,
): LagEvaluationOk {
  const r = evaluateKafkaLag({ ...defaults, ...options }, { partitions }, memory);
  if (!r.ok) assert.fail(r.error);
  return r;
}

describe("evaluateKafkaLag: totals and activation", () => {
  it("sums lag over partitions", () => {
    const r = ok({}, parts([0, 5], [10, 12], [3, 3]));
    assert.equal(r.totalLag, 7);
    assert.equal(r.totalLagWithPersistent, 7);
    assert.equal(r.partitionsWithLag, 2);
    assert.equal(r.partitionCount, 3);
    assert.equal(r.metricValue, 7);
    assert.equal(r.active, true);
    assert.equal(r.replicaBound, 3);
    assert.equal(r.inactiveReason, undefined);
  });
  it("activation is strictly greater than activationLagThreshold (1 message does not activate at 1, 2 do)", () => {
    assert.equal(ok({ activationLagThreshold: 1 }, parts([0, 1])).active, false);
    assert.equal(ok({ activationLagThreshold: 1 }, parts([0, 2])).active, true);
    assert.equal(ok({}, parts([5, 5])).active, false);
    assert.equal(ok({}, parts([4, 5])).active, true);
  });
  it("activation uses the raw lag, not the capped or rounded metric", () => {
    const r = ok(
      { activationLagThreshold: 25, ensureEvenDistributionOfPartitions: true },
      parts([0, 15], [0, 0]),
    );
    assert.equal(r.metricValue, 20);
    assert.equal(r.active, false);
    const capped = ok({ activationLagThreshold: 25 }, parts([0, 100]));
    assert.equal(capped.metricValue, 10);
    assert.equal(capped.active, true);
  });
  it("D1: lag 35 on 3 partitions with T=10 reports 30 (3 replicas), not 35 (4)", () => {
    const r = ok({}, parts([0, 20], [0, 10], [0, 5]));
    assert.equal(r.totalLag, 35);
    assert.equal(r.metricValue, 30);
    assert.ok(r.notes.some((n) => n.includes("capped at 3 partitions")));
  });
  it("allowIdleConsumers lifts the cap", () => {
    const r = ok({ allowIdleConsumers: true }, parts([0, 20], [0, 10], [0, 5]));
    assert.equal(r.metricValue, 35);
    assert.equal(r.replicaBound, undefined);
  });
  it("limitToPartitionsWithLag caps at the partitions with lag", () => {
    const r = ok({ limitToPartitionsWithLag: true }, parts([0, 100], [5, 5], [7, 7], [0, 1]));
    assert.equal(r.partitionsWithLag, 2);
    assert.equal(r.metricValue, 20);
    assert.equal(r.replicaBound, 2);
  });
  it("ensureEvenDistributionOfPartitions rounds to a divisor of the partitions", () => {
    const six = parts([0, 11], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]);
    assert.equal(ok({ ensureEvenDistributionOfPartitions: true }, six).metricValue, 20);
  });
  it("D2: ensureEvenDistributionOfPartitions with no lag reports 0", () => {
    const r = ok({ ensureEvenDistributionOfPartitions: true }, parts([3, 3], [4, 4]));
    assert.equal(r.metricValue, 0);
    assert.equal(r.active, false);
  });
  it("a negative total reports 0 but keeps the raw total", () => {
    const r = ok({}, parts([200, 150], [0, 10]));
    assert.equal(r.totalLag, -40);
    assert.equal(r.metricValue, 0);
    assert.equal(r.active, false);
    assert.equal(r.partitionsWithLag, 1);
  });
  it("no commit under latest wakes one consumer per partition; scaleToZeroOnInvalidOffset keeps it at 0", () => {
    const r = ok({}, parts([-1, 0], [-1, 0]));
    assert.equal(r.totalLag, 2);
    assert.equal(r.active, true);
    const zero = ok({ scaleToZeroOnInvalidOffset: true }, parts([-1, 100], [-1, 100]));
    assert.equal(zero.totalLag, 0);
    assert.equal(zero.active, false);
  });
  it("D4: earliest with no commit counts log-end − log-start per partition", () => {
    const r = ok({ offsetResetPolicy: "earliest" }, parts([-1, 1000, 990], [-1, 50, undefined], [40, 50, 0]));
    assert.equal(r.totalLag, 10 + 50 + 10);
  });
});

describe("evaluateKafkaLag: partitions without a log-end offset", () => {
  it("are not counted, as KEDA iterates the ListOffsets response", () => {
    const r = ok({}, parts([0, 100], [-1, undefined], [undefined, undefined]));
    assert.equal(r.partitionCount, 1);
    assert.equal(r.totalLag, 100);
    assert.equal(r.metricValue, 10);
    assert.deepEqual(
      r.perPartition.map((p) => [p.partition, p.counted, p.rule]),
      [
        [0, true, "committed"],
        [1, false, "no-log-end"],
        [2, false, "no-log-end"],
      ],
    );
    assert.ok(r.notes.some((n) => n.includes("t/1, t/2")));
  });
});

describe("evaluateKafkaLag: errors", () => {
  it("a counted partition without an OffsetFetch entry fails the evaluation and keeps the memory", () => {
    const memory = new Map([[partitionKey("t", 0), 3]]);
    const r = evaluateKafkaLag(
      { ...defaults, excludePersistentLag: true },
      { partitions: parts([3, 5], [undefined, 9]) },
      memory,
    );
    assert.equal(r.ok, false);
    assert.equal(r.memory, memory);
    assert.match(!r.ok ? r.error : "", /partition 1/);
  });
  it("rejects a lagThreshold that is not positive", () => {
    const r = evaluateKafkaLag({ ...defaults, lagThreshold: 0 }, { partitions: parts([0, 1]) });
    assert.equal(r.ok, false);
  });
  it("rejects a negative activationLagThreshold", () => {
    assert.equal(evaluateKafkaLag({ ...defaults, activationLagThreshold: -1 }, { partitions: [] }).ok, false);
  });
  it("rejects a partition given twice and offsets that are not integers", () => {
    assert.equal(evaluateKafkaLag(defaults, { partitions: [...parts([0, 1]), ...parts([0, 1])] }).ok, false);
    assert.equal(evaluateKafkaLag(defaults, { partitions: parts([0, 1.5]) }).ok, false);
    assert.equal(evaluateKafkaLag(defaults, { partitions: parts([Number.NaN, 1]) }).ok, false);
  });
});

describe("evaluateKafkaLag: D3 no topic and nothing committed", () => {
  it("D3: lag 0, inactive, and a reason to surface", () => {
    const r = ok({ topic: undefined }, []);
    assert.equal(r.metricValue, 0);
    assert.equal(r.active, false);
    assert.equal(r.partitionCount, 0);
    assert.match(r.inactiveReason ?? "", /consumer group 'g' has no committed offsets/);
    assert.ok(r.notes.includes(r.inactiveReason!));
  });
  it("D3: no reason when a topic is given", () => {
    assert.equal(ok({}, []).inactiveReason, undefined);
  });
  it("without a topic, the group's topics are summed together", () => {
    const partitions: PartitionOffsets[] = [
      { topic: "a", partition: 0, committed: 0, latest: 4 },
      { topic: "b", partition: 0, committed: 0, latest: 3 },
    ];
    const r = ok({ topic: "" }, partitions);
    assert.equal(r.totalLag, 7);
    assert.equal(r.partitionCount, 2);
    assert.equal(r.inactiveReason, undefined);
  });
});

describe("evaluateKafkaLag: D7 excludePersistentLag memory passed in and out", () => {
  const exclude = { excludePersistentLag: true };
  it("D7: first evaluation counts all lag and remembers the committed offsets", () => {
    const r = ok(exclude, parts([10, 50], [20, 20], [-1, 5]));
    assert.equal(r.totalLag, 40 + 0 + 1);
    assert.deepEqual(
      [...r.memory.entries()],
      [
        ["t/0", 10],
        ["t/1", 20],
      ],
    );
  });
  it("D7: a committed offset unchanged since the previous evaluation gives lag 0 but still activates", () => {
    const first = ok(exclude, parts([10, 50]));
    const second = ok(exclude, parts([10, 60]), first.memory);
    assert.equal(second.totalLag, 0);
    assert.equal(second.metricValue, 0);
    assert.equal(second.totalLagWithPersistent, 50);
    assert.equal(second.active, true);
    assert.equal(second.partitionsWithLag, 0);
    assert.equal(second.perPartition[0]?.rule, "persistent");
    assert.ok(second.notes.some((n) => n.includes("excludePersistentLag")));
  });
  it("D7: a partition that moves counts again; one that is stuck does not", () => {
    const first = ok(exclude, parts([10, 50], [0, 30]));
    const second = ok(exclude, parts([15, 50], [0, 30]), first.memory);
    assert.equal(second.totalLag, 35);
    assert.equal(second.totalLagWithPersistent, 65);
    assert.deepEqual(second.memory.get("t/0"), 15);
    assert.deepEqual(second.memory.get("t/1"), 0);
  });
  it("D7: the memory is a value: the same memory gives the same answer, and it is not changed", () => {
    const memory = new Map([["t/0", 10]]);
    const a = ok(exclude, parts([10, 50]), memory);
    const b = ok(exclude, parts([10, 50]), memory);
    assert.deepEqual(a, b);
    assert.deepEqual([...memory.entries()], [["t/0", 10]]);
  });
  it("D7: without memory (e.g. a new controller) the lag counts again", () => {
    assert.equal(ok(exclude, parts([10, 50])).totalLag, 40);
  });
  it("D7: memory survives a partition that is not counted this round, and drops partitions no longer given", () => {
    const memory = new Map([
      ["t/0", 10],
      ["gone/0", 3],
    ]);
    const r = ok(exclude, parts([10, undefined]), memory);
    assert.deepEqual([...r.memory.entries()], [["t/0", 10]]);
  });
  it("D7: with excludePersistentLag off, nothing is remembered and the memory is ignored", () => {
    const r = ok({}, parts([10, 50]), new Map([["t/0", 10]]));
    assert.equal(r.totalLag, 40);
    assert.equal(r.memory.size, 0);
  });
});

describe("LagOptions is satisfied by the parsed trigger's shape", () => {
  it("a value with KEDA's parameter names and more fields is accepted as LagOptions", () => {
    const parsed = {
      bootstrapServers: ["b:9092"],
      consumerGroup: "g",
      topic: undefined as string | undefined,
      lagThreshold: 10,
      activationLagThreshold: 0,
      offsetResetPolicy: "earliest" as "latest" | "earliest",
      allowIdleConsumers: false,
      excludePersistentLag: false,
      scaleToZeroOnInvalidOffset: false,
      limitToPartitionsWithLag: false,
      ensureEvenDistributionOfPartitions: false,
      partitionLimitation: undefined as number[] | undefined,
      version: "1.0.0",
    };
    const options: LagOptions = parsed;
    assert.equal(ok(options, []).inactiveReason !== undefined, true);
  });
});
