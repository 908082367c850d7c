import { test } from "node:test";
import assert from "node:assert/strict";
import { goTimeString, messageFor } from "./messages.js";
import { goDuration } from "./request-log.js";

test("goTimeString looks like Go's time.Time.String() in UTC", () => {
  const at = BigInt(Date.UTC(2023, 8, 11, 14, 12, 12)) * 1_000_000n;
  assert.equal(
    goTimeString(at + 123_456_000n, 3.1415926535),
    "2023-09-11 14:12:12.123456 +0000 UTC m=+3.141592654",
  );
  assert.equal(goTimeString(at, 0), "2023-09-11 14:12:12 +0000 UTC m=+0.000000000");
  assert.equal(goTimeString(at + 500_000_000n, 1), "2023-09-11 14:12:12.5 +0000 UTC m=+1.000000000");
});

test("messages carry the original's key and value", () => {
  const at = BigInt(Date.UTC(2021, 11, 23, 1, 2, 3)) * 1_000_000n;
  assert.deepEqual(messageFor(7, at, 2), {
    key: "Key-7",
    value: "Message No: 7, Time: 2021-12-23 01:02:03 +0000 UTC m=+2.000000000",
  });
  assert.match(
    messageFor(0).value,
    /^Message No: 0, Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$/,
  );
});

test("goDuration prints like Go's Duration.String()", () => {
  const table: [number, string][] = [
    [0, "0s"],
    [999, "999ns"],
    [1_500, "1.5µs"],
    [373_733_223, "373.733223ms"],
    [1_000_000_000, "1s"],
    [61_500_000_000, "1m1.5s"],
    [3_723_000_000_000, "1h2m3s"],
  ];
  for (const [ns, expected] of table) assert.equal(goDuration(ns), expected, `${ns} ns`);
});
