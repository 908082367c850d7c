/**
 * Hostile reports: property-based (fast-check) and hand-picked. Whatever a pod sends, parseReport answers
 * ok or a short list of errors naming the field; it never throws, never pollutes a prototype, and its
 * answer stays small however large the input (the receiver echoes the errors in its 400 and its log line).
 * Inputs go in as the receiver gives them: JSON.parse of the body, and also as raw values.
 * Each call runs under test/support/bounded.ts (no throw, a generous time and heap cap); the figures for
 * the largest inputs are printed, not asserted.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  MAX_ERROR_CHARS,
  MAX_REPORT_BYTES,
  MAX_REPORT_PARTITIONS,
  parseReport,
  type SidecarReport,
} from "./schema.js";
import { bounded } from "../../test/support/bounded.js";
import { sampleReport } from "../../test/support/reports.js";

const GOOD = sampleReport();

/** parseReport's answer for a body, as the receiver reaches it; JSON that does not parse is not its input. */
function check(value: unknown): ReturnType<typeof parseReport> {
  const r = bounded("parseReport", parseReport, value);
  if (r.ok) return r;
  assert.ok(r.errors.length >= 1 && r.errors.length <= 10, `${r.errors.length} errors`);
  for (const e of r.errors) {
    assert.equal(typeof e, "string");
    assert.ok(e.length <= MAX_ERROR_CHARS, `an error of ${e.length} characters: ${e.slice(0, 120)}…`);
    assert.ok(e.startsWith("/") && e.includes(": "), `the error names the field: ${e.slice(0, 120)}`);
  }
  return r;
}

function checkBody(text: string): ReturnType<typeof parseReport> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined; // the receiver answers "not JSON" before parseReport
  }
  return check(json);
}

/** The good report as JSON with `from` replaced by `to` (which must be there: a miss would test nothing). */
function swap(from: string, to: string): string {
  const text = JSON.stringify(GOOD);
  assert.ok(text.includes(from), `${from} is not in the report`);
  return text.replace(from, to);
}

/** Runs `f`, prints how long it took (a figure, not an assertion). */
function timed<T>(what: string, f: () => T): T {
  const start = performance.now();
  const out = f();
  console.log(`schema.hostile: ${what}: ${(performance.now() - start).toFixed(1)} ms`);
  return out;
}

const withPartitions = (n: number, over: Partial<SidecarReport["partitions"][number]> = {}) => {
  const partitions = Array.from({ length: n }, (_, i) => ({ ...GOOD.partitions[0]!, partition: i, ...over }));
  return { ...GOOD, partitions, lag: partitions.reduce((s, p) => s + p.lag, 0) };
};

/** Values in a report's fields that a broken or hostile sidecar might send. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    -1,
    1e308,
    0.1,
    "NaN",
    "Infinity",
    "-0",
    "1e400",
    "0x10",
    "",
    "\u0000",
    "a".repeat(10_000),
    [],
    {},
    null,
    true,
  ),
);
const FIELDS = Object.keys(GOOD) as (keyof SidecarReport)[];
const PARTITION_FIELDS = Object.keys(GOOD.partitions[0]!);

describe("parseReport under hostile input (property-based)", () => {
  it("any JSON value: ok or short errors naming the field, never a throw", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => void check(v)),
      { numRuns: 2000 },
    );
  });

  it("any text as a body: not JSON, ok, or short errors", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.json(), fc.string({ unit: "binary" })),
        (text) => void checkBody(text),
      ),
      { numRuns: 2000 },
    );
  });

  it("a good report with any field replaced: refused with that field named, or still a valid report", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS), oddValue, (field, value) => {
        const r = check({ ...GOOD, [field]: value });
        if (!r.ok) {
          const named = r.errors.some((e) => e.startsWith(`/${field}`) || e.startsWith("/lag"));
          assert.ok(named, `${field}=${JSON.stringify(value).slice(0, 80)}: ${r.errors.join("; ")}`);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("a good partition with any field replaced: refused under /partitions/0, or still valid", () => {
    fc.assert(
      fc.property(fc.constantFrom(...PARTITION_FIELDS), oddValue, (field, value) => {
        const partition = { ...GOOD.partitions[0]!, [field]: value };
        const r = check({ ...GOOD, partitions: [partition] });
        if (!r.ok)
          assert.ok(
            r.errors.some((e) => /^\/(partitions\/0|lag)/.test(e)),
            r.errors.join("; "),
          );
      }),
      { numRuns: 1500 },
    );
  });

  it("an accepted report is within every bound the decisions rely on", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { maxLength: 40 }),
        fc.double({ noNaN: false }),
        (lags, rate) => {
          const partitions = lags.map((lag, i) => ({ ...GOOD.partitions[0]!, partition: i, lag }));
          const total = lags.reduce((s, l) => s + l, 0);
          const r = check({ ...GOOD, partitions, lag: total, ratePerSecond: rate });
          if (!r.ok) return;
          assert.ok(Number.isSafeInteger(r.report.lag), `lag ${r.report.lag}`);
          assert.ok(Number.isFinite(r.report.ratePerSecond) && r.report.ratePerSecond >= 0);
          assert.ok(r.report.partitions.every((p) => Number.isSafeInteger(p.lag) && p.lag >= 0));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("parseReport under hostile input (hand-picked)", { timeout: 30_000 }, () => {
  it("numbers JSON cannot hold exactly: 1e400 (Infinity), -1e400, 1e-400, -0, 2^53 + 2", () => {
    for (const n of ["1e400", "-1e400", "9007199254740993"]) {
      const r = checkBody(swap('"lag":50,"ratePerSecond":1}', `"lag":50,"ratePerSecond":${n}}`));
      assert.equal(r?.ok, false, n);
    }
    const infLag = checkBody(swap('"lag":50,"stalledForMs"', '"lag":1e400,"stalledForMs"'));
    assert.equal(infLag?.ok, false, "an infinite lag is refused");
    const tiny = checkBody(swap('"ratePerSecond":1,"stalled"', '"ratePerSecond":1e-400,"stalled"'));
    assert.equal(tiny?.ok, true, "1e-400 is 0, a valid rate");
    const negZero = checkBody(swap('"members":1', '"members":-0'));
    assert.equal(negZero?.ok, true, "-0 is 0");
    for (const s of ["NaN", "Infinity", "-0", "1e400", "0x10", " 5"]) {
      const r = check({ ...GOOD, lag: s });
      assert.ok(!r.ok && r.errors.some((e) => e.startsWith("/lag")), `lag: ${JSON.stringify(s)}`);
    }
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      assert.equal(check({ ...GOOD, ratePerSecond: n }).ok, false, String(n));
    }
  });

  it("prototype keys: refused as unknown fields, and no prototype is touched", () => {
    const bodies = [
      '{"__proto__":{"polluted":1}}',
      `${JSON.stringify(GOOD).slice(0, -1)},"__proto__":{"polluted":1}}`,
      `${JSON.stringify(GOOD).slice(0, -1)},"constructor":{"prototype":{"polluted":1}}}`,
      swap('"pod":{', '"pod":{"__proto__":{"polluted":1},'),
      swap('"stalled":false}', '"stalled":false,"__proto__":{"polluted":1}}'),
      '{"constructor":null,"toString":1,"hasOwnProperty":"x","valueOf":{}}',
    ];
    for (const b of bodies) {
      const r = checkBody(b);
      assert.equal(r?.ok, false, b.slice(0, 80));
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  });

  it("deep nesting in every place a value goes", () => {
    const deep = (n: number) => JSON.parse("[".repeat(n) + "]".repeat(n)) as unknown;
    const deepObj = (n: number) => JSON.parse('{"a":'.repeat(n) + "1" + "}".repeat(n)) as unknown;
    for (const v of [deep(5_000), deepObj(5_000)]) {
      check(v);
      for (const f of FIELDS) check({ ...GOOD, [f]: v });
      check({ ...GOOD, partitions: [{ ...GOOD.partitions[0]!, topic: v }] });
      check({ ...GOOD, pod: { ...GOOD.pod, extra: v } });
    }
  });

  it("huge arrays and strings: refused with a bounded answer", () => {
    const r2 = timed("1,000,000 junk partitions", () =>
      check({ ...GOOD, partitions: Array(1_000_000).fill("x") }),
    );
    assert.ok(!r2.ok);
    const big = "a".repeat(MAX_REPORT_BYTES * 4);
    for (const f of ["consumerGroup", "groupState", "unsupported", "scaledObject"] as const) {
      const r = timed(`a ${big.length}-character ${f}`, () => check({ ...GOOD, [f]: big }));
      assert.ok(!r.ok && r.errors.some((e) => e.startsWith(`/${f}`)), f);
    }
    const keys = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    const r3 = timed("100,000 unknown fields", () => check({ ...GOOD, ...keys }));
    assert.ok(!r3.ok);
  });

  it("an unknown field with a huge name: the error stays short (check bounds every error's length)", () => {
    const r = check({ ...GOOD, ["x".repeat(200_000)]: 1, pod: { ...GOOD.pod, ["y".repeat(200_000)]: 2 } });
    assert.equal(r.ok, false);
    assert.equal(r.ok ? 0 : r.errors.length, 2);
  });

  it("the largest report, at the longest names and numbers, fits the body limit and parses", () => {
    const longest = {
      ...GOOD,
      pod: { namespace: "n".repeat(253), name: "p".repeat(253), ip: "f".repeat(45) },
      scaledObject: "s".repeat(253),
      consumerGroup: "g".repeat(255),
      groupState: "x".repeat(64),
      unsupported: "u".repeat(1024),
      observedAt: 8_640_000_000_000_000,
      members: 10_000,
      ratePerSecond: 1e12 - 0.000244140625,
    };
    const partitions = Array.from({ length: MAX_REPORT_PARTITIONS }, (_, i) => ({
      topic: "t".repeat(249),
      partition: 2_147_483_647 - i,
      committedOffset: Number.MAX_SAFE_INTEGER,
      logEndOffset: Number.MAX_SAFE_INTEGER,
      lag: 4_398_046_511_103, // 2048 of these sum to just under 2^53
      stalledForMs: 4_398_046_511_103,
      ratePerSecond: 999_999_999.9999999,
      stalled: false,
    }));
    const max = { ...longest, partitions, lag: partitions.reduce((s, p) => s + p.lag, 0) };
    const bytes = Buffer.byteLength(JSON.stringify(max));
    console.log(`schema.hostile: the largest report is ${bytes} bytes; the limit is ${MAX_REPORT_BYTES}`);
    assert.ok(bytes <= MAX_REPORT_BYTES, `${bytes} bytes do not fit ${MAX_REPORT_BYTES}`);
    assert.equal(timed(`${MAX_REPORT_PARTITIONS} partitions`, () => check(max)).ok, true);
    const over = timed("1,000,000 partitions", () => check(withPartitions(1_000_000)));
    assert.ok(!over.ok && over.errors.some((e) => e.startsWith("/partitions")));
    assert.equal(check(withPartitions(MAX_REPORT_PARTITIONS + 1)).ok, false);
  });

  it("lags whose sum passes 2^53 are refused, not summed wrong", () => {
    const huge = { ...GOOD.partitions[0]!, lag: Number.MAX_SAFE_INTEGER };
    const r = check({
      ...GOOD,
      partitions: [huge, { ...huge, partition: 1 }],
      lag: Number.MAX_SAFE_INTEGER,
    });
    assert.equal(r.ok, false);
  });
});
