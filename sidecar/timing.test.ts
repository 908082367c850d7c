import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffMs, crossesThreshold, failureKind, nextInterval, type IntervalInput } from "./timing.js";

const INTERVAL_TABLE: { name: string; input: IntervalInput; want: "fast" | "slow" }[] = [
  { name: "first report, idle", input: { lag: 0, previousLag: undefined, state: "idle" }, want: "slow" },
  { name: "lag", input: { lag: 3, previousLag: 3, state: "busy" }, want: "fast" },
  { name: "lag just drained", input: { lag: 0, previousLag: 4, state: "busy" }, want: "fast" },
  { name: "idle, unchanged", input: { lag: 0, previousLag: 0, state: "idle" }, want: "slow" },
  { name: "keeping up (busy, no lag)", input: { lag: 0, previousLag: 0, state: "busy" }, want: "slow" },
  { name: "rebalancing", input: { lag: 0, previousLag: 0, state: "rebalancing" }, want: "fast" },
  { name: "stalled still has lag", input: { lag: 7, previousLag: 7, state: "stalled" }, want: "fast" },
];
for (const c of INTERVAL_TABLE) {
  test(`interval: ${c.name} → ${c.want}`, () => {
    assert.equal(nextInterval(c.input, 1_000, 10_000), c.want === "fast" ? 1_000 : 10_000);
  });
}

const URGENT_TABLE: [number | undefined, number, boolean][] = [
  [undefined, 11, true],
  [undefined, 10, false],
  [0, 11, true],
  [10, 11, true],
  [11, 50, false],
  [50, 5, false],
  [5, 10, false],
];
for (const [previous, lag, want] of URGENT_TABLE) {
  test(`urgent: ${previous} → ${lag} with lagThreshold 10 is ${want}`, () => {
    assert.equal(crossesThreshold(previous, lag, 10), want);
  });
}

test("backoff doubles up to its cap, with half of it random", () => {
  assert.equal(backoffMs("unavailable", 1, 0), 100);
  assert.equal(backoffMs("unavailable", 1, 0.999999), 200);
  assert.equal(backoffMs("unavailable", 2, 0), 200);
  assert.equal(backoffMs("unavailable", 10, 0.999999), 2_000);
  assert.equal(backoffMs("error", 1, 0), 250);
  assert.equal(backoffMs("error", 3, 0), 1_000);
  assert.equal(backoffMs("error", 100, 0.999999), 30_000);
  assert.equal(backoffMs("refused", 1, 0), 2_500);
  assert.equal(backoffMs("refused", 100, 0.999999), 60_000);
});

test("HTTP statuses map to kinds of failure", () => {
  const table: [number, string | undefined][] = [
    [200, undefined],
    [202, undefined],
    [204, undefined],
    [503, "unavailable"],
    [400, "refused"],
    [401, "refused"],
    [403, "refused"],
    [413, "refused"],
    [429, "error"],
    [408, "error"],
    [500, "error"],
    [502, "error"],
  ];
  for (const [status, kind] of table) assert.equal(failureKind(status), kind, String(status));
});
