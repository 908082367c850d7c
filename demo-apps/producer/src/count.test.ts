import { test } from "node:test";
import assert from "node:assert/strict";
import { decideCount, DEFAULT_COUNT, MAX_COUNT } from "./count.js";

test("count: Atoi semantics, fallback 100, nothing for <= 0, bounded above", () => {
  const table: [string | null, number | "rejected"][] = [
    [null, DEFAULT_COUNT], // absent
    ["", DEFAULT_COUNT],
    ["abc", DEFAULT_COUNT],
    ["1.5", DEFAULT_COUNT],
    [" 3", DEFAULT_COUNT],
    ["0x10", DEFAULT_COUNT],
    ["99999999999999999999", DEFAULT_COUNT], // beyond int64: Atoi fails → 100
    ["7", 7],
    ["+7", 7],
    ["007", 7],
    ["0", 0],
    ["-0", 0],
    ["-5", 0],
    ["-9223372036854775808", 0],
    [String(MAX_COUNT), MAX_COUNT],
    [String(MAX_COUNT + 1), "rejected"],
    ["9223372036854775807", "rejected"],
  ];
  for (const [raw, expected] of table) {
    const d = decideCount(raw);
    if (expected === "rejected") {
      assert.equal(d.ok, false, `count=${raw}`);
      if (!d.ok) assert.match(d.reason, /above the limit of 100000 messages per request/);
    } else {
      assert.deepEqual(d, { ok: true, count: expected }, `count=${raw}`);
    }
  }
});

test("count comes from the query like Echo's QueryParam: first value, '+' decodes to a space", () => {
  const q = (s: string) => decideCount(new URLSearchParams(s).get("count"));
  assert.deepEqual(q("count=5&count=9"), { ok: true, count: 5 });
  assert.deepEqual(q("count=+5"), { ok: true, count: DEFAULT_COUNT }); // " 5" is not an integer, as in Go
  assert.deepEqual(q("count=%2B5"), { ok: true, count: 5 });
  assert.deepEqual(q("other=1"), { ok: true, count: DEFAULT_COUNT });
});
