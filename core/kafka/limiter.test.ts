import { test } from "node:test";
import assert from "node:assert/strict";
import { Limiter } from "./limiter.js";

test("Limiter never runs more tasks than its limit and runs them all", async () => {
  const limiter = new Limiter(3);
  let peak = 0;
  const gates: (() => void)[] = [];
  const tasks = Array.from({ length: 10 }, (_, i) =>
    limiter.run(async () => {
      peak = Math.max(peak, limiter.running);
      await new Promise<void>((resolve) => gates.push(resolve));
      return i;
    }),
  );
  // Release the gates one by one; each release lets exactly one waiting task start.
  while (gates.length > 0 || limiter.running > 0) {
    await new Promise((r) => setImmediate(r));
    const gate = gates.shift();
    if (gate) gate();
  }
  assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(peak, 3);
});

test("Limiter frees its slot when a task throws", async () => {
  const limiter = new Limiter(1);
  await assert.rejects(
    limiter.run(async () => {
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(await limiter.run(async () => "next"), "next");
  assert.equal(limiter.running, 0);
});

test("Limiter rejects a limit below 1", () => {
  assert.throws(() => new Limiter(0), /positive integer/);
});
