import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay, EVALUATION_BACKOFF, type BackoffPolicy } from "./backoff.js";

const policy: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000, jitter: 0.5 };

test("backoffDelay doubles from the base up to the cap, jitter only shortens", () => {
  const cases: [failures: number, random: number, want: number][] = [
    [1, 0, 1_000],
    [2, 0, 2_000],
    [3, 0, 4_000],
    [6, 0, 32_000],
    [7, 0, 60_000],
    [1_000_000, 0, 60_000],
    [Number.MAX_SAFE_INTEGER, 0, 60_000],
    [1, 0.5, 750],
    [1, 0.99, 505],
    [7, 0.5, 45_000],
    // hostile counts and randoms: still within [base × (1 - jitter), cap]
    [0, 0, 1_000],
    [-3, 0, 1_000],
    [NaN, 0, 1_000],
    [Infinity, 0, 1_000],
    [2, 7, 1_000],
    [2, -1, 2_000],
    [2, NaN, 2_000],
  ];
  for (const [failures, random, want] of cases) {
    assert.equal(backoffDelay(failures, policy, random), want, `${failures} failures, random ${random}`);
  }
});

test("the controller's policy: never hot, never longer than 5 minutes", () => {
  for (let n = 1; n <= 40; n++) {
    for (const r of [0, 0.5, 0.9999]) {
      const d = backoffDelay(n, EVALUATION_BACKOFF, r);
      assert.ok(d >= 8_000 && d <= 300_000, `${n} failures, random ${r}: ${d} ms`);
    }
  }
  assert.equal(backoffDelay(1, EVALUATION_BACKOFF, 0), 10_000);
  assert.equal(backoffDelay(30, EVALUATION_BACKOFF, 0), 300_000);
});
