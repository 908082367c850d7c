/**
 * Hostile intervals against the evaluation loops: pollingInterval values that overflow Node's timers, are
 * not numbers, or meet a wall clock that jumps. Time is simulated with node:test's mock timers (setTimeout
 * and Date), so weeks pass in milliseconds; the loops themselves are the real ones.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import {
  DEFAULT_INTERVAL_MS,
  EvaluationLoops,
  MAX_INTERVAL_MS,
  MAX_TIMER_STEP_MS,
  MIN_INTERVAL_MS,
  nextAlignedTime,
  pollPhaseMs,
  pollingIntervalMs,
  timerDelay,
  type DueKey,
} from "./loops.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The flush after a timer runs on the real setImmediate (not mocked): let it and the batch run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe("pollingIntervalMs and timerDelay", () => {
  it("pollingIntervalMs holds every value within bounds and never returns a non-finite delay", () => {
    const cases: [unknown, number][] = [
      [30, 30_000],
      [1.5, 1_500],
      [0, MIN_INTERVAL_MS],
      [-5, MIN_INTERVAL_MS],
      [0.0001, MIN_INTERVAL_MS],
      [2_147_483_647, MAX_INTERVAL_MS],
      [2_147_483_648, MAX_INTERVAL_MS],
      [1e300, MAX_INTERVAL_MS],
      [Number.MAX_VALUE, MAX_INTERVAL_MS],
      [Infinity, DEFAULT_INTERVAL_MS],
      [-Infinity, DEFAULT_INTERVAL_MS],
      [NaN, DEFAULT_INTERVAL_MS],
      ["30", DEFAULT_INTERVAL_MS],
      [undefined, DEFAULT_INTERVAL_MS],
      [null, DEFAULT_INTERVAL_MS],
      [{ seconds: 30 }, DEFAULT_INTERVAL_MS],
    ];
    for (const [value, want] of cases) assert.equal(pollingIntervalMs(value), want, String(value));
  });

  it("timerDelay never exceeds the step nor goes negative", () => {
    assert.ok(MAX_TIMER_STEP_MS < 2 ** 31 - 1);
    const cases: [number, number, number][] = [
      [1_000, 0, 1_000],
      [0, 1_000, 0],
      [MAX_INTERVAL_MS, 0, MAX_TIMER_STEP_MS],
      [2 ** 31, 0, MAX_TIMER_STEP_MS],
      [MAX_TIMER_STEP_MS, 0, MAX_TIMER_STEP_MS],
    ];
    for (const [at, now, want] of cases) assert.equal(timerDelay(at, now), want, `${at} from ${now}`);
  });

  it("set refuses an interval that is not finite and positive", () => {
    const loops = new EvaluationLoops({ run: () => Promise.resolve() });
    for (const bad of [NaN, Infinity, -Infinity, 0, -1]) {
      assert.throws(() => loops.set("ns/a", bad), RangeError, String(bad));
    }
    assert.deepEqual(loops.keys(), []);
  });
});

describe("evaluation loops with hostile intervals (simulated time)", () => {
  let batches: { at: number; keys: DueKey[] }[];
  let loops: EvaluationLoops;
  let skew: number;
  const start = Date.UTC(2026, 0, 1, 0, 0, 0, 123);

  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: start });
    batches = [];
    skew = 0;
    loops = new EvaluationLoops({
      run: (b) => {
        batches.push({ at: Date.now() + skew, keys: b });
        return Promise.resolve();
      },
      // The wall clock the loops read; `skew` moves it without moving the timers (an NTP step).
      now: () => Date.now() + skew,
    });
  });
  afterEach(async () => {
    await loops.stop();
    mock.timers.reset();
  });

  /** Advances simulated time in `step` ms steps, letting each flush run. */
  async function advance(total: number, step: number): Promise<void> {
    for (let t = 0; t < total; t += step) {
      mock.timers.tick(Math.min(step, total - t));
      await settle();
    }
  }

  it("pollingInterval 2147483647 does not fire every millisecond (it did: the timer overflowed)", async () => {
    // Counts the timers the loops arm (the mocked setTimeout, wrapped).
    const mocked = globalThis.setTimeout;
    let armed = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      armed++;
      return mocked(...args);
    }) as typeof setTimeout;
    try {
      loops.set("ns/huge", pollingIntervalMs(2_147_483_647));
      await advance(1_000, 1); // 1000 separate milliseconds: an overflowed timer fires in each
      assert.equal(armed, 1, "one timer in the first second");
      await advance(40 * DAY, HOUR); // past Node's 24.8-day limit
      assert.ok(armed <= 40 * 24 + 1, `${armed} timers in 40 days: one per hour at most`);
    } finally {
      globalThis.setTimeout = mocked;
    }
    assert.equal(batches.length, 0, "no evaluation within 40 days of a 68-year interval");
  });

  it("a 30-day interval fires once, at its phase's wall-clock time, in steps below Node's limit", async () => {
    const interval = 30 * DAY; // above 2^31-1 ms: one setTimeout could not wait for it
    loops.set("ns/monthly", interval);
    const due = nextAlignedTime(start, interval, pollPhaseMs("ns/monthly", interval));
    await advance(due - start - 1, HOUR);
    mock.timers.tick(due - Date.now() - 1);
    await settle();
    assert.equal(batches.length, 0, "not before its time");
    mock.timers.tick(1);
    await settle();
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.at, due);
    assert.deepEqual(
      batches[0]!.keys.map((d) => [d.key, d.expectedAt, d.cause]),
      [["ns/monthly", due, "poll"]],
    );
    await advance(interval, 6 * HOUR);
    assert.equal(batches.length, 2, "and again one interval later");
    assert.equal(batches[1]!.keys[0]!.expectedAt, due + interval);
  });

  it("a wall clock stepped back a day goes on at its interval, without a day's pause or a hot loop", async () => {
    const interval = 10 * 60_000;
    loops.set("ns/a", interval);
    await advance(interval, 1_000);
    assert.equal(batches.length, 1);
    skew = -DAY;
    await advance(2 * HOUR, 1_000);
    // Two hours at a 10-minute interval: 12 slots; the one in progress at the step may be lost.
    const after = batches.length - 1;
    assert.ok(after >= 11 && after <= 12, `${after} evaluations in the 2 h after the step back`);
    const phase = pollPhaseMs("ns/a", interval);
    for (const b of batches.slice(1)) assert.equal(b.keys[0]!.expectedAt % interval, phase);
  });

  it("a wall clock stepped forward a year evaluates once, not once per missed interval", async () => {
    loops.set("ns/a", 60_000);
    await advance(60_000, 1_000);
    const before = batches.length;
    skew = 365 * DAY;
    await advance(61_000, 1_000);
    assert.ok(batches.length - before >= 1 && batches.length - before <= 2, `${batches.length - before}`);
  });
});
