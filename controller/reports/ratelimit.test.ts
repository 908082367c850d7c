import assert from "node:assert/strict";
import { it } from "node:test";
import { TokenBuckets } from "./ratelimit.js";

it("allows the burst, then the rate, per key", () => {
  const b = new TokenBuckets({ ratePerSecond: 5, burst: 10 });
  const at0 = Array.from({ length: 12 }, () => b.take("pod-a", 0).ok);
  assert.deepEqual(at0, [...Array(10).fill(true), false, false]);
  assert.deepEqual(b.take("pod-a", 0), { ok: false, retryAfterSeconds: 1 });
  assert.equal(b.take("pod-b", 0).ok, true, "another pod has its own bucket");
  assert.equal(b.take("pod-a", 200).ok, true, "one token back after 1/5 s");
  assert.equal(b.take("pod-a", 200).ok, false);
  assert.equal(b.take("pod-a", 60_000).ok, true);
});

it("keeps at most maxKeys buckets", () => {
  const b = new TokenBuckets({ ratePerSecond: 1, burst: 1, maxKeys: 2 });
  for (const k of ["a", "b", "c", "d"]) assert.equal(b.take(k, 0).ok, true);
  // "a" was forgotten, so it may burst again: the price of the bound, never a refusal of a new pod.
  assert.equal(b.take("a", 0).ok, true);
});
