import assert from "node:assert/strict";
import { test } from "node:test";
import { bucketsBetween, histogramBuckets, histogramQuantile, observations } from "./histogram.js";

const scrape = (counts: number[]) =>
  [
    "# HELP h_seconds help",
    "# TYPE h_seconds histogram",
    ...["0.5", "1", "2", "+Inf"].map((le, i) => `h_seconds_bucket{le="${le}"} ${counts[i] ?? 0}`),
    `h_seconds_sum 1`,
    `h_seconds_count ${counts[3] ?? 0}`,
    `other_bucket{le="0.5"} 99`,
  ].join("\n");

test("histogramBuckets reads one histogram's cumulative buckets, +Inf as Infinity", () => {
  assert.deepEqual(histogramBuckets(scrape([1, 3, 4, 5]), "h_seconds"), [
    { le: 0.5, count: 1 },
    { le: 1, count: 3 },
    { le: 2, count: 4 },
    { le: Infinity, count: 5 },
  ]);
  assert.deepEqual(histogramBuckets('h_bucket{a="x",le="1"} 2', "h"), [{ le: 1, count: 2 }]);
});

test("histogramQuantile interpolates inside the bucket the rank falls in, as histogram_quantile", () => {
  const table: { q: number; counts: number[]; want: number }[] = [
    // 10 observations all in (1, 2]: the median is the bucket's middle
    { q: 0.5, counts: [0, 0, 10, 10], want: 1.5 },
    // rank 0.99 × 100 = 99 of 100, 90 below 0.5 and 10 in (0.5, 1]: 0.5 + 0.5 × 9/10
    { q: 0.99, counts: [90, 100, 100, 100], want: 0.95 },
    // in the first bucket: from 0
    { q: 0.5, counts: [4, 4, 4, 4], want: 0.25 },
    // beyond the last finite bound: that bound
    { q: 0.99, counts: [0, 0, 0, 10], want: 2 },
  ];
  for (const { q, counts, want } of table) {
    const got = histogramQuantile(q, histogramBuckets(scrape(counts), "h_seconds"));
    assert.ok(Math.abs(got - want) < 1e-9, `q=${q} counts=${counts.join(",")}: ${got}, want ${want}`);
  }
  assert.ok(Number.isNaN(histogramQuantile(0.5, histogramBuckets(scrape([0, 0, 0, 0]), "h_seconds"))));
});

test("bucketsBetween keeps only the observations made between two scrapes", () => {
  // start-up: 50 slow batches (> 2 s); then 100 fast ones (≤ 0.5 s)
  const startup = histogramBuckets(scrape([0, 0, 0, 50]), "h_seconds");
  const later = histogramBuckets(scrape([100, 100, 100, 150]), "h_seconds");
  const window = bucketsBetween(startup, later);
  assert.equal(observations(window), 100);
  assert.ok(histogramQuantile(0.99, window) <= 0.5);
  assert.equal(histogramQuantile(0.99, later), 2, "over the whole run the start-up dominates p99");
});
