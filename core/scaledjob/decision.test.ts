import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { scaledJobDecision, scalingDecision, type ScaledJobScalingSpec } from "./decision.js";
import { effectiveMaxReplicaCount, effectiveMinReplicaCount } from "./bounds.js";
import type { TriggerReading } from "./metrics.js";

const reading = (queueLength: number, targetAverageValue = 1, active = queueLength > 0): TriggerReading => ({
  queueLength,
  targetAverageValue,
  active,
});

describe("scalingDecision: the min top-up (KEDA TestRunningJobCount*)", () => {
  it("min 2, running 0 → create 2, strategy skipped", () => {
    assert.deepEqual(scalingDecision({ kind: "default" }, { running: 0, pending: 0 }, 2, 98, 0, 0), {
      effectiveMaxScale: 2,
      scaleTo: 2,
      minTopUp: true,
    });
  });
  it("min 2, running 1 → create 1", () => {
    assert.deepEqual(scalingDecision({ kind: "default" }, { running: 1, pending: 0 }, 2, 98, 0, 0), {
      effectiveMaxScale: 1,
      scaleTo: 1,
      minTopUp: true,
    });
  });
  it("min 1, running 1, maxScale 2, scaleTo 2 → the strategy runs on the jobs above the min: 2", () => {
    assert.deepEqual(scalingDecision({ kind: "default" }, { running: 1, pending: 0 }, 1, 99, 2, 2), {
      effectiveMaxScale: 2,
      scaleTo: 2,
      minTopUp: false,
    });
  });
});

describe("scaledJobDecision: KEDA docs' default-strategy table", () => {
  // [queue length, target, maxReplicaCount, running] → jobs created
  const rows: [number, number, number, number, number][] = [
    [10, 1, 3, 0, 3],
    [10, 2, 3, 0, 3],
    [10, 1, 3, 1, 2],
    [10, 1, 100, 0, 10],
    [4, 5, 3, 0, 1],
  ];
  for (const [queue, target, max, running, jobs] of rows) {
    it(`queue ${queue}, target ${target}, max ${max}, running ${running} → ${jobs}`, () => {
      const d = scaledJobDecision({ maxReplicaCount: max }, [reading(queue, target)], {
        running,
        pending: 0,
      });
      assert.equal(d.jobsToCreate, jobs);
    });
  }
});

describe("scaledJobDecision: activity", () => {
  it("inactive creates nothing, whatever the budget", () => {
    const d = scaledJobDecision({}, [reading(10, 1, false)], { running: 0, pending: 0 });
    assert.equal(d.isActive, false);
    assert.equal(d.jobsToCreate, 0);
    assert.deepEqual(d.active, {
      status: "False",
      reason: "ScalerNotActive",
      message: "Scaling is not performed because triggers are not active",
    });
  });
  it("minReplicaCount > 0 makes the ScaledJob active and tops up to the min", () => {
    const d = scaledJobDecision({ minReplicaCount: 2 }, [reading(0, 1, false)], { running: 0, pending: 0 });
    assert.equal(d.isActive, true);
    assert.equal(d.minTopUp, true);
    assert.equal(d.jobsToCreate, 2);
  });
  it("a negative effective scale creates nothing", () => {
    const d = scaledJobDecision({ maxReplicaCount: 5 }, [reading(1)], { running: 4, pending: 0 });
    assert.equal(d.effectiveMaxScale, 0);
    assert.equal(d.jobsToCreate, 0);
  });
  it("eager fills the budget with the queue: 3 messages, max 10, none running → 3", () => {
    const d = scaledJobDecision(
      { maxReplicaCount: 10, scalingStrategy: { strategy: "eager" } },
      [reading(3)],
      {
        running: 0,
        pending: 0,
      },
    );
    assert.deepEqual([d.scaleTo, d.effectiveMaxScale, d.jobsToCreate], [10, 3, 3]);
  });
  it("multipleScalersCalculation comes from scalingStrategy", () => {
    const spec: ScaledJobScalingSpec = { scalingStrategy: { multipleScalersCalculation: "sum" } };
    assert.equal(
      scaledJobDecision(spec, [reading(2), reading(3)], { running: 0, pending: 0 }).jobsToCreate,
      5,
    );
  });
});

describe("scaledJobDecision: Ready condition", () => {
  it("all triggers fine → Ready True", () => {
    assert.equal(
      scaledJobDecision({}, [reading(1)], { running: 0, pending: 0 }).ready.reason,
      "ScaledJobReady",
    );
  });
  it("an error while another trigger is active → Unknown PartialTriggerError", () => {
    const d = scaledJobDecision({}, [{ error: "x" }, reading(1)], { running: 0, pending: 0 });
    assert.deepEqual([d.ready.status, d.ready.reason, d.jobsToCreate], ["Unknown", "PartialTriggerError", 1]);
  });
  it("an error and nothing active → False TriggerError", () => {
    const d = scaledJobDecision({}, [{ error: "x" }], { running: 0, pending: 0 });
    assert.deepEqual([d.ready.status, d.ready.reason, d.jobsToCreate], ["False", "TriggerError", 0]);
  });
});

/**
 * Polls until nothing more is created, with jobs that never finish (KEDA's e2e jobs sleep): the running
 * count grows by what each poll creates. `pendingPolls` is how many polls a new job stays pending.
 */
function settle(spec: ScaledJobScalingSpec, readings: TriggerReading[], startRunning: number): number {
  let running = startRunning;
  for (let poll = 0; poll < 50; poll++) {
    const d = scaledJobDecision(spec, readings, { running, pending: 0 });
    if (d.jobsToCreate === 0) return running;
    running += d.jobsToCreate;
  }
  throw new Error("did not settle");
}

describe("scaledJobDecision: KEDA e2e min_replica_sj (each step after the rollout deleted the old jobs)", () => {
  it("min 2, max 10, metric 0 → 2 jobs", () => {
    assert.equal(settle({ minReplicaCount: 2, maxReplicaCount: 10 }, [reading(0)], 0), 2);
  });
  it("D9: min 1, max 10, metric 1 → 2 jobs (min + metric)", () => {
    assert.equal(settle({ minReplicaCount: 1, maxReplicaCount: 10 }, [reading(1)], 0), 2);
  });
  it("min 2, max 1, metric 0 → 1 job (the max)", () => {
    assert.equal(settle({ minReplicaCount: 2, maxReplicaCount: 1 }, [reading(0)], 0), 1);
  });
  it("D9: min 2, max 4, metric 3 → 4 jobs (the budget above the min is 2)", () => {
    assert.equal(settle({ minReplicaCount: 2, maxReplicaCount: 4 }, [reading(3)], 0), 4);
  });
});

describe("scaledJobDecision: KEDA e2e accurate strategy (target 1, max 10, jobs keep running)", () => {
  const spec: ScaledJobScalingSpec = { maxReplicaCount: 10, scalingStrategy: { strategy: "accurate" } };
  it("4 messages, nothing running → 4 jobs", () => {
    assert.equal(scaledJobDecision(spec, [reading(4)], { running: 0, pending: 0 }).jobsToCreate, 4);
  });
  it("while the 4 are pending and draining, nothing more", () => {
    assert.equal(scaledJobDecision(spec, [reading(4)], { running: 4, pending: 4 }).jobsToCreate, 0);
  });
  it("4 more messages, 4 running → 4 more (8)", () => {
    assert.equal(scaledJobDecision(spec, [reading(4)], { running: 4, pending: 0 }).jobsToCreate, 4);
  });
  it("4 more messages, 8 running → 2 (4 + 8 > 10, so 10 − 8)", () => {
    assert.equal(scaledJobDecision(spec, [reading(4)], { running: 8, pending: 0 }).jobsToCreate, 2);
  });
  it("2 left, 10 running → 0", () => {
    assert.equal(scaledJobDecision(spec, [reading(2)], { running: 10, pending: 0 }).jobsToCreate, 0);
  });
});

describe("scaledJobDecision properties", () => {
  it("default, accurate and eager never take running jobs above min + budget", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("default", "accurate", "eager"),
        fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
        fc.array(
          fc.record({
            queueLength: fc.integer({ min: 0, max: 200 }),
            targetAverageValue: fc.integer({ min: 0, max: 10 }),
            active: fc.boolean(),
          }),
          { maxLength: 4 },
        ),
        fc.constantFrom("max", "min", "avg", "sum"),
        fc.integer({ min: 0, max: 80 }),
        fc.integer({ min: 0, max: 80 }),
        (strategy, min, max, readings, calc, running, pendingRaw) => {
          const spec: ScaledJobScalingSpec = {
            minReplicaCount: min,
            maxReplicaCount: max,
            scalingStrategy: { strategy, multipleScalersCalculation: calc },
          };
          const pending = Math.min(pendingRaw, running);
          const d = scaledJobDecision(spec, readings, { running, pending });
          assert.ok(d.jobsToCreate >= 0 && Number.isInteger(d.jobsToCreate));
          const ceiling = effectiveMinReplicaCount(spec) + effectiveMaxReplicaCount(spec);
          assert.ok(
            running + d.jobsToCreate <= Math.max(running, ceiling),
            `${running} + ${d.jobsToCreate} > ${ceiling}`,
          );
          if (!d.isActive) assert.equal(d.jobsToCreate, 0);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
