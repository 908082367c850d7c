import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_REPORT_PARTITIONS, parseReport, type SidecarReport } from "./schema.js";

function report(over: Partial<SidecarReport> = {}): SidecarReport {
  return {
    version: 1,
    pod: { namespace: "demo", name: "consumer-abc", ip: "127.0.1.5" },
    scaledObject: "consumer",
    consumerGroup: "g1",
    observedAt: 1_700_000_000_000,
    urgent: false,
    state: "busy",
    groupState: "Stable",
    members: 1,
    partitions: [
      {
        topic: "my-topic",
        partition: 0,
        committedOffset: 10,
        logEndOffset: 15,
        lag: 5,
        stalledForMs: 0,
        ratePerSecond: 0.33,
        stalled: false,
      },
    ],
    lag: 5,
    ratePerSecond: 0.33,
    ...over,
  };
}

test("a well-formed report parses", () => {
  const r = parseReport(report());
  assert.equal(r.ok, true);
});

test("malformed reports are refused with the field named", () => {
  const cases: [string, unknown, RegExp][] = [
    ["not an object", "hello", /^\/: /],
    ["wrong version", { ...report(), version: 2 }, /\/version/],
    ["unknown field", { ...report(), extra: 1 }, /\/extra|additional/i],
    ["unknown state", { ...report(), state: "sleeping" }, /\/state/],
    ["negative lag", { ...report(), lag: -1 }, /\/lag/],
    [
      "pod name with capitals",
      { ...report(), pod: { namespace: "demo", name: "Bad", ip: "1.2.3.4" } },
      /\/pod\/name/,
    ],
    ["topic with a slash", report({ partitions: [{ ...report().partitions[0]!, topic: "a/b" }] }), /topic/],
    ["lag not the sum", report({ lag: 6 }), /not the sum/],
    [
      "partition listed twice",
      report({ partitions: [report().partitions[0]!, report().partitions[0]!], lag: 10 }),
      /listed twice/,
    ],
    [
      "fractional offset",
      report({ partitions: [{ ...report().partitions[0]!, committedOffset: 1.5 }] }),
      /committedOffset/,
    ],
  ];
  for (const [name, body, pattern] of cases) {
    const r = parseReport(body);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.errors.join("\n"), pattern, name);
  }
});

test("too many partitions are refused and errors stay at ten", () => {
  const p = report().partitions[0]!;
  const many = Array.from({ length: MAX_REPORT_PARTITIONS + 1 }, (_, i) => ({ ...p, partition: i }));
  const r = parseReport(report({ partitions: many, lag: 5 * many.length }));
  assert.equal(r.ok, false);
  const bad = Array.from({ length: 50 }, (_, i) => ({ ...p, partition: -i - 1 }));
  const r2 = parseReport(report({ partitions: bad }));
  assert.equal(r2.ok, false);
  if (!r2.ok) assert.ok(r2.errors.length <= 10);
});
