import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { effectiveMaxReplicaCount, effectiveMinReplicaCount } from "./bounds.js";

describe("effective bounds (KEDA TestScaledJob, D9)", () => {
  const cases: { name: string; min?: number; max?: number; effMin: number; effMax: number }[] = [
    { name: "max 10, min 0", min: 0, max: 10, effMin: 0, effMax: 10 },
    { name: "max 10, min unset", max: 10, effMin: 0, effMax: 10 },
    { name: "D9: max 10, min 1 → budget 9 above the min", min: 1, max: 10, effMin: 1, effMax: 9 },
    { name: "max unset, min 1 → 100", min: 1, effMin: 1, effMax: 100 },
    { name: "both unset", effMin: 0, effMax: 100 },
    { name: "max 1, min 10 → both 1", min: 10, max: 1, effMin: 1, effMax: 1 },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const spec = { minReplicaCount: t.min, maxReplicaCount: t.max };
      assert.equal(effectiveMinReplicaCount(spec), t.effMin);
      assert.equal(effectiveMaxReplicaCount(spec), t.effMax);
    });
  }
});
