/**
 * Hostile input for the cron trigger's parser and its next-fire search: every expression and timezone
 * answers a value or a message, within a time and heap budget (test/support/bounded.ts), including the
 * inputs of issue 8 by name. Accepted expressions are checked against robfig/cron's rules and the
 * search against a plain day-by-day reference in UTC.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bounded } from "../../test/support/bounded.js";
import {
  CRON_SEARCH_LIMIT_MS,
  MAX_CACHED_FIRE_TIMES,
  MAX_CRON_EXPRESSION_LENGTH,
  cronCacheSizes,
  cronIsActive,
  nextCronTime,
  parseCronSchedule,
  parseCronTrigger,
  type CronSchedule,
} from "./cron.js";

const parse = (e: string) => bounded("parseCronSchedule", parseCronSchedule, e);
const refused = (e: string): string => {
  const r = parse(e);
  assert.equal(r.ok, false, `${JSON.stringify(e.slice(0, 80))} should be refused`);
  return r.ok ? "" : r.message;
};
const accepted = (e: string): CronSchedule => {
  const r = parse(e);
  if (!r.ok) assert.fail(`${JSON.stringify(e)} should be accepted: ${r.message}`);
  return r.value;
};

/** The first fire time after `from` in UTC, found by walking whole days: independent of the search. */
function referenceNextUtc(s: CronSchedule, from: number): number | undefined {
  const start = Math.floor(from / 60_000) * 60_000 + 60_000;
  const limit = from + CRON_SEARCH_LIMIT_MS;
  const hours = [...s.hours].sort((a, b) => a - b);
  const minutes = [...s.minutes].sort((a, b) => a - b);
  const first = new Date(start);
  for (
    let day = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate());
    day <= limit;
    day += 86_400_000
  ) {
    const d = new Date(day);
    if (!s.months.has(d.getUTCMonth() + 1)) continue;
    const dom = s.daysOfMonth.has(d.getUTCDate());
    const dow = s.daysOfWeek.has(d.getUTCDay());
    if (!(s.dayOfMonthStar || s.dayOfWeekStar ? dom && dow : dom || dow)) continue;
    for (const h of hours) {
      for (const m of minutes) {
        const t = day + h * 3_600_000 + m * 60_000;
        if (t >= start && t <= limit) return t;
      }
    }
  }
  return undefined;
}

describe("cron: the inputs of issue 8", () => {
  it("0-200000000 * * * * and 0-10000000 * * * * are refused without expanding the range", () => {
    assert.match(refused("0-200000000 * * * *"), /end of range \(200000000\) above maximum \(59\)/);
    assert.match(refused("0-10000000 * * * *"), /end of range \(10000000\) above maximum \(59\)/);
  });

  it("0 0 l * *, lowercase w, wrap-around 50-10 and janfeb are refused, as robfig refuses them", () => {
    assert.match(refused("0 0 l * *"), /day-of-month field: failed to parse int from l/);
    assert.match(refused("0 0 15w * *"), /failed to parse int from 15w/);
    assert.match(refused("0 0 lw * *"), /failed to parse int from lw/);
    assert.match(refused("50-10 * * * *"), /beginning of range \(50\) beyond end of range \(10\)/);
    assert.match(refused("0 0 1 janfeb *"), /month field: failed to parse int from janfeb/);
  });

  it("a schedule that never fires costs nothing per search; KEDA's zero time keeps the trigger active", () => {
    for (const e of ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *", ", * * * *"]) {
      const s = accepted(e);
      assert.equal(s.canFire, false, e);
      assert.equal(nextCronTime(s, "Etc/UTC", new Date("2026-01-01T00:00:00Z")), undefined);
    }
    // The measure: 100 such triggers, four searches each, per poll.
    const never = accepted("0 0 30 2 *");
    const daily = accepted("0 12 * * *");
    const meta = { timezone: "Europe/Paris", start: never, end: daily, desiredReplicas: 3 };
    const active = bounded(
      "100 never-firing triggers, 4 searches each",
      () => {
        let all = true;
        for (let i = 0; i < 400; i++) all &&= cronIsActive(meta, new Date(Date.UTC(2026, 0, 1, 0, i)));
        return all;
      },
      undefined,
    );
    assert.equal(active, true, "KEDA: no next start (zero time) means active");
    const parsed = parseCronTrigger({
      metadata: { timezone: "Etc/UTC", start: "0 0 30 2 *", end: "0 12 * * *", desiredReplicas: "1" },
    });
    assert.ok(parsed.ok);
    assert.match(
      parsed.warnings.join(),
      /start schedule "0 0 30 2 \*" never fires .* always active, as in KEDA/,
    );
  });

  it("europe/paris and EUROPE/PARIS are refused (Go's LoadLocation is case-sensitive), with a hint", () => {
    for (const tz of ["europe/paris", "EUROPE/PARIS", "Europe/paris"]) {
      const r = parseCronTrigger({
        metadata: { timezone: tz, start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "1" },
      });
      assert.ok(!r.ok, tz);
      assert.match(r.errors[0]!.message, /case-sensitive: did you mean Europe\/Paris\?/);
    }
    for (const tz of ["Europe/Paris", "US/Eastern", "UTC", "Etc/GMT+5", "Asia/Kolkata", "Asia/Calcutta"]) {
      const r = parseCronTrigger({
        metadata: { timezone: tz, start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "1" },
      });
      assert.ok(r.ok, tz);
    }
  });

  it("20,000 spellings of a timezone add no cached formatter", () => {
    const before = cronCacheSizes().timeZones;
    bounded(
      "20,000 timezone spellings",
      () => {
        for (let i = 0; i < 20_000; i++) {
          const tz = [..."europe/paris"]
            .map((c, j) => ((i >> j) & 1 ? c.toUpperCase() : c))
            .join("")
            .concat(i >= 4096 ? `${i}` : "");
          parseCronTrigger({
            metadata: { timezone: tz, start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "1" },
          });
        }
      },
      undefined,
      20_000,
    );
    assert.equal(cronCacheSizes().timeZones, before);
  });
});

describe("cron: robfig/cron v3's standard parser, rule by rule", () => {
  it("accepts what robfig accepts", () => {
    const cases: [string, Partial<Record<"minutes" | "daysOfWeek" | "months", number[]>>][] = [
      ["0 0 1 JAN-mar *", { months: [1, 2, 3] }],
      ["0 0 1 jan,Jul *", { months: [1, 7] }],
      ["*-5 * * * *", {}], // robfig ignores what follows `*-`
      ["+5 * * * *", { minutes: [5] }], // Go's Atoi takes a plus sign
      ["5/20 * * * *", { minutes: [5, 25, 45] }], // n/step means n-max/step
      ["0 0 ? * MON-fri", { daysOfWeek: [1, 2, 3, 4, 5] }],
      ["0,,30 * * * *", { minutes: [0, 30] }], // empty list items are skipped
      ["0 0 * * sun,SAT", { daysOfWeek: [0, 6] }],
    ];
    for (const [e, want] of cases) {
      const s = accepted(e);
      for (const [k, v] of Object.entries(want)) assert.deepEqual([...s[k as keyof typeof want]], v, e);
    }
    assert.equal(accepted("0 0 * * *").dayOfMonthStar, true);
    assert.equal(accepted("0 0 */1 * *").dayOfMonthStar, true, "a step of 1 keeps the star bit");
    assert.equal(accepted("0 0 */2 * *").dayOfMonthStar, false, "a larger step drops it");
  });

  it("refuses what robfig refuses, naming the field", () => {
    const cases: [string, RegExp][] = [
      ["0 0 * * 7", /day-of-week field: end of range \(7\) above maximum \(6\)/],
      ["0 0 0 * *", /day-of-month field: beginning of range \(0\) below minimum \(1\)/],
      ["*/0 * * * *", /step of range should be a positive number/],
      ["1-2-3 * * * *", /too many hyphens/],
      ["1/2/3 * * * *", /too many slashes/],
      ["-5 * * * *", /failed to parse int from /],
      ["99999999999999999999 * * * *", /value out of range/],
      ["0 0 * * 5#2", /failed to parse int from 5#2/],
      ["0 0 L * *", /failed to parse int from L/],
      ["0 0 * january *", /failed to parse int from january/],
      ["@hourly", /does not accept descriptors/],
      ["CRON_TZ=UTC 0 * * * *", /timezone parameter/],
      ["0 0 0 * * *", /expected exactly 5 fields/],
      ["\u00a0", /empty spec string/],
    ];
    for (const [e, want] of cases) assert.match(refused(e), want, e);
    assert.match(refused("0,".repeat(MAX_CRON_EXPRESSION_LENGTH) + " * * * *"), /at most 1024/);
  });
});

/** Terms robfig accepts for a field of bounds [lo, hi]: values, ranges, steps, stars. */
function validTermArb(lo: number, hi: number): fc.Arbitrary<string> {
  const v = fc.integer({ min: lo, max: hi });
  return fc.oneof(
    { weight: 3, arbitrary: v.map(String) },
    { weight: 1, arbitrary: fc.constantFrom("*", "?", "*/1") },
    {
      weight: 2,
      arbitrary: fc.tuple(v, v).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(v, fc.integer({ min: 1, max: hi + 2 }), fc.boolean())
        .map(([a, st, star]) => `${star ? "*" : a}/${st}`),
    },
  );
}
const validFieldArb = (lo: number, hi: number) =>
  fc.array(validTermArb(lo, hi), { minLength: 1, maxLength: 3 }).map((t) => t.join(","));
const validExpressionArb = fc
  .tuple(
    validFieldArb(0, 59),
    validFieldArb(0, 23),
    validFieldArb(1, 31),
    validFieldArb(1, 12),
    validFieldArb(0, 6),
  )
  .map((f) => f.join(" "));

const FIELD_TOKENS = [
  "*",
  "?",
  "L",
  "l",
  "W",
  "15W",
  "5#2",
  "jan",
  "FEB",
  "janfeb",
  "mon",
  "Sun",
  "",
  "-",
  "/",
] as const;
const termArb = fc.oneof(
  fc.constantFrom(...FIELD_TOKENS),
  fc.integer({ min: -3, max: 70 }).map(String),
  fc.tuple(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 70 })).map(([a, b]) => `${a}-${b}`),
  fc
    .tuple(fc.constantFrom("*", "0", "5", "1-30", "?"), fc.integer({ min: 0, max: 100 }))
    .map(([a, s]) => `${a}/${s}`),
  fc.integer({ min: 0, max: 2 ** 40 }).map((n) => `0-${n}`),
);
const fieldArb = fc.array(termArb, { minLength: 1, maxLength: 4 }).map((t) => t.join(","));
const expressionArb = fc.oneof(
  { weight: 4, arbitrary: validExpressionArb },
  { weight: 6, arbitrary: fc.array(fieldArb, { minLength: 5, maxLength: 5 }).map((f) => f.join(" ")) },
  { weight: 1, arbitrary: fc.array(fieldArb, { minLength: 0, maxLength: 8 }).map((f) => f.join(" ")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom(..."0123456789*?,-/ LW#@jJ\t\u00a0"), maxLength: 60 }),
  },
);

const BOUNDS: Record<"minutes" | "hours" | "daysOfMonth" | "months" | "daysOfWeek", [number, number]> = {
  minutes: [0, 59],
  hours: [0, 23],
  daysOfMonth: [1, 31],
  months: [1, 12],
  daysOfWeek: [0, 6],
};

describe("cron: properties", () => {
  it("every expression answers a schedule within the field bounds or a message", () => {
    fc.assert(
      fc.property(expressionArb, (e) => {
        const r = parse(e);
        if (!r.ok) {
          assert.ok(r.message.length > 0 && r.message.length < 1200);
          return;
        }
        for (const [k, [lo, hi]] of Object.entries(BOUNDS)) {
          for (const v of r.value[k as keyof typeof BOUNDS])
            assert.ok(v >= lo && v <= hi, `${k} ${v} in ${e}`);
        }
        const again = parse(r.value.expression);
        assert.ok(again.ok);
        assert.deepEqual(again.value, r.value, "the normalised expression parses to the same schedule");
      }),
      { numRuns: 400 },
    );
  });

  it("the next fire time in UTC is the reference's, cache or no cache, and costs a bounded search", () => {
    const scheduleArb = validExpressionArb.map((e) => {
      const r = parseCronSchedule(e);
      if (!r.ok) assert.fail(`generated ${e} should parse: ${r.message}`);
      return r;
    });
    const fromArb = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) });
    fc.assert(
      fc.property(scheduleArb, fc.array(fromArb, { minLength: 1, maxLength: 3 }), (r, froms) => {
        for (const from of froms.sort((a, b) => a - b)) {
          const got = bounded(
            "nextCronTime",
            (f: number) => nextCronTime(r.value, "Etc/UTC", new Date(f)),
            from,
          );
          assert.equal(
            got?.getTime(),
            referenceNextUtc(r.value, from),
            `${r.value.expression} from ${new Date(from).toISOString()}`,
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it("across DST changes (midnight ones included) the next fire time is a minute-by-minute scan's", () => {
    // Santiago and Beirut change at midnight, Paris at 02:00/03:00, Havana at 00:00/01:00.
    const changes: [string, number][] = [
      ["America/Santiago", Date.UTC(2024, 3, 7, 3)],
      ["America/Santiago", Date.UTC(2024, 8, 8, 4)],
      ["Europe/Paris", Date.UTC(2024, 2, 31, 1)],
      ["Europe/Paris", Date.UTC(2024, 9, 27, 1)],
      ["Asia/Beirut", Date.UTC(2024, 2, 30, 22)],
      ["America/Havana", Date.UTC(2024, 10, 3, 5)],
    ];
    const parts = (tz: string) => {
      const f = new Intl.DateTimeFormat("en-US", {
        timeZone: tz,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        weekday: "short",
      });
      return (t: number) => {
        const o: Record<string, string> = {};
        for (const p of f.formatToParts(t)) o[p.type] = p.value;
        return o;
      };
    };
    const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    /** Minute by minute for `days` days: a fire is a matching wall-clock minute not seen in the 3 hours before. */
    const scan = (s: CronSchedule, tz: string, from: number, days: number): number | undefined => {
      const at = parts(tz);
      const wall = (o: Record<string, string>) =>
        `${o["year"]}-${o["month"]}-${o["day"]} ${o["hour"]}:${o["minute"]}`;
      for (let t = Math.floor(from / 60_000) * 60_000 + 60_000; t < from + days * 86_400_000; t += 60_000) {
        const o = at(t);
        const dom = s.daysOfMonth.has(Number(o["day"]));
        const dow = s.daysOfWeek.has(DAYS.indexOf(o["weekday"]!));
        const day = s.dayOfMonthStar || s.dayOfWeekStar ? dom && dow : dom || dow;
        if (!s.months.has(Number(o["month"])) || !day || !s.hours.has(Number(o["hour"]))) continue;
        if (!s.minutes.has(Number(o["minute"]))) continue;
        const w = wall(o);
        if ([30, 60, 90, 120, 180].some((b) => wall(at(t - b * 60_000)) === w)) continue;
        return t;
      }
      return undefined;
    };
    const dayField = fc.oneof(fc.constant("*"), fc.integer({ min: 1, max: 31 }).map(String));
    const dowField = fc.oneof(fc.constant("*"), fc.integer({ min: 0, max: 6 }).map(String));
    fc.assert(
      fc.property(
        fc.constantFrom(...changes),
        fc.integer({ min: -36, max: 12 }),
        validFieldArb(0, 59),
        fc.oneof(fc.constantFrom("0", "1", "2", "3", "23", "0-3"), validFieldArb(0, 23)),
        dayField,
        dowField,
        ([tz, change], offsetHours, m, h, dom, dow) => {
          const s = accepted(`${m} ${h} ${dom} * ${dow}`);
          const from = change + offsetHours * 3_600_000 + 17_000;
          const got = nextCronTime(s, tz, new Date(from))?.getTime();
          const days = got === undefined ? 40 : Math.ceil((got - from) / 86_400_000) + 1;
          if (days > 40) return; // a rare day: the UTC property covers long searches
          assert.equal(
            got,
            scan(s, tz, from, days),
            `${s.expression} in ${tz} from ${new Date(from).toISOString()}`,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it("skipping a day shortened by DST still lands on the next midnight", () => {
    // Europe/Paris, 2024-03-31 has 23 hours: from 00:30 CET the next day's 00:30 CEST is 23 hours on.
    const s = accepted("30 0 1 * *");
    assert.deepEqual(
      nextCronTime(s, "Europe/Paris", new Date("2024-03-30T23:30:00Z")),
      new Date("2024-03-31T22:30:00Z"),
    );
    // America/Santiago, 2024-09-08 00:00 does not exist: 00:30 that day never fires, 00:30 the next does.
    assert.deepEqual(
      nextCronTime(accepted("30 0 8,9 9 *"), "America/Santiago", new Date("2024-09-07T12:00:00Z")),
      new Date("2024-09-09T03:30:00Z"),
    );
  });

  it("the next-fire cache stays within its bound", () => {
    const from = new Date("2026-06-01T00:00:00Z");
    for (let i = 0; i < MAX_CACHED_FIRE_TIMES + 500; i++) {
      nextCronTime(accepted(`${i % 60} ${Math.floor(i / 60) % 24} * * *`), `Etc/GMT+${i % 12}`, from);
    }
    assert.ok(cronCacheSizes().fireTimes <= MAX_CACHED_FIRE_TIMES);
  });

  it("parseCronTrigger answers any metadata with a value or errors naming a parameter", () => {
    const valueArb = fc.oneof(
      expressionArb,
      fc.string({ maxLength: 30 }),
      fc.constantFrom("Europe/Paris", "1", "0", "-1", "1e9", "9".repeat(400)),
    );
    const metaArb = fc.record(
      { start: valueArb, end: valueArb, timezone: valueArb, desiredReplicas: valueArb },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(metaArb, (metadata) => {
        const r = bounded("parseCronTrigger", parseCronTrigger, { metadata });
        if (!r.ok)
          for (const e of r.errors)
            assert.ok(["start", "end", "timezone", "desiredReplicas"].includes(e.parameter));
      }),
      { numRuns: 300 },
    );
  });
});
