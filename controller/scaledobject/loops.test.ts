import assert from "node:assert/strict";
import { test } from "node:test";
import { EvaluationLoops, nextAlignedTime, type DueKey } from "./loops.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("timers align to multiples of the interval", () => {
  assert.equal(nextAlignedTime(10_500, 1000), 11_000);
  assert.equal(nextAlignedTime(11_000, 1000), 12_000);
  assert.equal(nextAlignedTime(29_999, 10_000), 30_000);
});

test("keys with the same interval are due together and handed over as one batch", async () => {
  const batches: DueKey[][] = [];
  const loops = new EvaluationLoops({
    run: async (b) => {
      batches.push(b);
    },
  });
  // Start just after a boundary, so that all three are set within the same interval.
  while (Date.now() % 200 > 60) await sleep(5);
  loops.set("ns/a", 200);
  await sleep(30);
  loops.set("ns/b", 200);
  loops.set("ns/c", 200);
  await sleep(520);
  await loops.stop();
  assert.ok(batches.length >= 1, "at least one poll");
  const keys = (b: DueKey[]) =>
    b
      .map((d) => d.key)
      .sort()
      .join(",");
  assert.ok(
    batches.some((b) => keys(b) === "ns/a,ns/b,ns/c"),
    `a's timer and the later ones' fall due together: ${batches.map(keys).join(" | ")}`,
  );
  for (const b of batches) assert.ok(b.every((d) => d.cause === "poll" && d.expectedAt % 200 === 0));
});

test("a key is never evaluated twice at once; a trigger during its run runs it again afterwards", async () => {
  let active = 0;
  let maxActive = 0;
  let runs = 0;
  const loops = new EvaluationLoops({
    run: async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      await sleep(100);
      active--;
    },
  });
  loops.set("ns/a", 60_000);
  loops.trigger("ns/a");
  await sleep(20);
  loops.trigger("ns/a");
  loops.trigger("ns/a");
  await sleep(350);
  assert.equal(maxActive, 1);
  assert.equal(runs, 2, "the triggers during the first run collapse into one more run");
  await loops.stop();
});

test("remove waits for the running evaluation and stops the timer", async () => {
  let finished = false;
  let runs = 0;
  const loops = new EvaluationLoops({
    run: async () => {
      runs++;
      await sleep(80);
      finished = true;
    },
  });
  loops.set("ns/a", 100);
  loops.trigger("ns/a");
  await sleep(10);
  await loops.remove("ns/a");
  assert.equal(finished, true, "remove returned only after the evaluation ended");
  const before = runs;
  await sleep(250);
  assert.equal(runs, before, "no evaluation after remove");
  assert.equal(loops.has("ns/a"), false);
  await loops.stop();
});

test("set with a new interval re-arms; with the same interval it changes nothing", async () => {
  const loops = new EvaluationLoops({ run: async () => undefined });
  assert.equal(loops.set("k", 1000), true);
  assert.equal(loops.set("k", 1000), false);
  assert.equal(loops.set("k", 2000), false);
  assert.deepEqual(loops.keys(), ["k"]);
  await loops.stop();
  assert.equal(loops.set("k2", 1000), false, "nothing starts after stop");
});

test("with one promise per key, a key is free again when its own evaluation ends, not the batch's", async () => {
  let releaseSlow: () => void = () => {};
  const runsOf = new Map<string, number>();
  const loops = new EvaluationLoops({
    run: (batch) =>
      new Map(
        batch.map((d) => {
          runsOf.set(d.key, (runsOf.get(d.key) ?? 0) + 1);
          const work =
            d.key === "ns/slow"
              ? new Promise<void>((r) => (releaseSlow = r))
              : sleep(5).then(() => undefined);
          return [d.key, work] as const;
        }),
      ),
  });
  loops.set("ns/slow", 60_000);
  loops.set("ns/fast", 60_000);
  loops.trigger("ns/slow");
  loops.trigger("ns/fast");
  await sleep(30);
  // ns/slow still runs; ns/fast ended and can run again at once
  loops.trigger("ns/fast");
  loops.trigger("ns/slow");
  await sleep(30);
  assert.equal(runsOf.get("ns/fast"), 2, "the fast key ran again while the slow one of its batch still ran");
  assert.equal(runsOf.get("ns/slow"), 1, "the slow key is not run twice at once");
  releaseSlow();
  await sleep(30);
  assert.equal(runsOf.get("ns/slow"), 2, "the slow key runs again once its own evaluation ended");
  releaseSlow();
  await loops.stop();
});
