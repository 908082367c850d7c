import assert from "node:assert/strict";
import { test } from "node:test";
import {
  EvaluationLoops,
  MAX_PHASES,
  nextAlignedTime,
  pollPhaseMs,
  type DueKey,
  type PhaseOptions,
} from "./loops.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("due times are the multiples of the interval plus the phase, strictly after now", () => {
  const cases: [now: number, interval: number, phase: number, want: number][] = [
    [10_500, 1000, 0, 11_000],
    [11_000, 1000, 0, 12_000],
    [29_999, 10_000, 0, 30_000],
    [30_000, 10_000, 3000, 33_000],
    [33_000, 10_000, 3000, 43_000],
    [32_999, 10_000, 3000, 33_000],
    [0, 10_000, 9000, 9000],
    [5, 10_000, 0, 10_000],
  ];
  for (const [now, interval, phase, want] of cases) {
    assert.equal(nextAlignedTime(now, interval, phase), want, `${now} every ${interval} at +${phase}`);
  }
});

test("a key's phase is stable, a sub-slot start within its interval, and 1 s or less is never cut", () => {
  // [interval, sub-slots]: sub-slots of at least 1 s, at most MAX_PHASES
  const cases: [interval: number, slots: number][] = [
    [200, 1],
    [1000, 1],
    [1999, 1],
    [2000, 2],
    [2500, 2],
    [10_000, 10],
    [30_000, 10],
    [30 * 86_400_000, 10],
  ];
  for (const [interval, slots] of cases) {
    const width = Math.floor(interval / slots);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const key = `ns/so${i}`;
      const phase = pollPhaseMs(key, interval);
      assert.equal(pollPhaseMs(key, interval), phase, "the same key, the same phase");
      assert.equal(phase % width, 0, `${key} at ${phase} starts a sub-slot of ${width} ms`);
      assert.ok(phase >= 0 && phase < interval, `${key}: ${phase} within ${interval}`);
      seen.add(phase);
    }
    assert.equal(seen.size, slots, `${interval} ms: ${slots} sub-slots used by 500 keys`);
  }
});

test("10,000 keys of one interval spread over its sub-slots evenly (within 20 % of N/10)", () => {
  const counts = new Map<number, number>();
  for (let i = 0; i < 10_000; i++) {
    const phase = pollPhaseMs(`bench-ctl-ns/so${i}`, 10_000);
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  assert.equal(counts.size, MAX_PHASES);
  for (const [phase, n] of counts) assert.ok(n > 800 && n < 1200, `${n} keys at +${phase} ms`);
});

test("keys of one interval fall due in their sub-slots: one batch per sub-slot, never a key twice", async () => {
  const phases: PhaseOptions = { max: 4, minMs: 100 };
  const batches: DueKey[][] = [];
  const loops = new EvaluationLoops({
    run: async (b) => {
      batches.push(b);
    },
    phases,
  });
  const keys = Array.from({ length: 12 }, (_, i) => `ns/so${i}`);
  for (const k of keys) loops.set(k, 400);
  await sleep(1100);
  await loops.stop();
  const polled = batches.filter((b) => b.every((d) => d.cause === "poll"));
  const phasesSeen = new Set<number>();
  for (const b of polled) {
    assert.equal(new Set(b.map((d) => d.key)).size, b.length, "no key twice in a batch");
    // (a loaded machine may run two sub-slots' timers before one flush: they then share a batch)
    for (const d of b) {
      assert.equal(d.expectedAt % 400, pollPhaseMs(d.key, 400, phases), `${d.key} in its own sub-slot`);
      phasesSeen.add(d.expectedAt % 400);
    }
  }
  assert.ok(phasesSeen.size > 1, `more than one sub-slot used: ${[...phasesSeen].join(",")}`);
  const oneSlot = polled.filter((b) => new Set(b.map((d) => d.expectedAt)).size === 1);
  assert.ok(oneSlot.length > polled.length / 2, "batches are of one sub-slot, not of the whole interval");
  for (const k of keys) {
    const times = polled.flatMap((b) => b.filter((d) => d.key === k).map((d) => d.expectedAt));
    assert.ok(times.length >= 2, `${k} polled every interval: ${times.join(",")}`);
    for (let i = 1; i < times.length; i++) assert.equal((times[i] ?? 0) - (times[i - 1] ?? 0), 400);
  }
});

test("keys with the same interval of one sub-slot are due together and handed over as one batch", async () => {
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
