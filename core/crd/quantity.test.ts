import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_TOLERANCE, parseQuantity, parseTolerance } from "./quantity.js";

test("quantities read as Kubernetes reads them: suffixes, exponents, signs", () => {
  const cases: [string | number, number][] = [
    ["50m", 0.05],
    ["0.05", 0.05],
    [".5", 0.5],
    ["1.", 1],
    ["5e-2", 0.05],
    ["1E1", 10],
    ["2k", 2000],
    ["1Ki", 1024],
    ["3M", 3e6],
    ["100n", 1e-7],
    ["+1", 1],
    ["-1", -1],
    [0, 0],
    [2, 2],
  ];
  for (const [q, want] of cases) {
    const r = parseQuantity(q);
    if (!r.ok) assert.fail(`${q}: ${r.message}`);
    assert.ok(Math.abs(r.value - want) < 1e-12, `${q} → ${r.value}`);
  }
  for (const bad of [
    "",
    "m",
    "1.2.3",
    "1 m",
    "1mi",
    "0x10",
    "NaN",
    "Infinity",
    "1e",
    "1e1.5",
    "1e400",
    " 1",
  ]) {
    assert.equal(parseQuantity(bad).ok, false, bad);
  }
  assert.match((parseQuantity("1".repeat(65)) as { message: string }).message, /at most 64/);
  assert.equal(parseQuantity(Number.POSITIVE_INFINITY).ok, false);
  assert.equal(parseQuantity(null).ok, false);
});

test("tolerance: a non-negative quantity of at most MAX_TOLERANCE", () => {
  assert.deepEqual(parseTolerance("50m"), { ok: true, value: 0.05 });
  assert.deepEqual(parseTolerance(0), { ok: true, value: 0 });
  assert.match((parseTolerance("-0.5") as { message: string }).message, /negative/);
  assert.match((parseTolerance("1e400") as { message: string }).message, /too large/);
  assert.match((parseTolerance("2k") as { message: string }).message, new RegExp(`above ${MAX_TOLERANCE}`));
  assert.match((parseTolerance("banana") as { message: string }).message, /not a quantity/);
});
