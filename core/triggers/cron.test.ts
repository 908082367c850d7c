import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cronIsActive,
  cronMetricName,
  cronMetricValue,
  nextCronTime,
  parseCronSchedule,
  parseCronTrigger,
  type CronSchedule,
  type CronTriggerMetadata,
} from "./cron.js";

type M = Record<string, string>;

function meta(m: M): CronTriggerMetadata {
  const r = parseCronTrigger({ metadata: m });
  if (!r.ok) assert.fail(`expected success, got ${JSON.stringify(r.errors)}`);
  return r.value;
}
function schedule(expr: string): CronSchedule {
  const r = parseCronSchedule(expr);
  if (!r.ok) assert.fail(r.message);
  return r.value;
}

// KEDA's cron_scaler_test.go fixtures.
const validCronMetadata: M = {
  timezone: "Etc/UTC",
  start: "0 0 * * Thu",
  end: "59 23 * * Thu",
  desiredReplicas: "10",
};
const validCronMetadata2: M = {
  timezone: "Etc/UTC",
  start: "0 */2 * * *",
  end: "0 1-23/2 * * *",
  desiredReplicas: "10",
};
const validCronMetadata3: M = {
  timezone: "Etc/UTC",
  start: "0,30 * * * *",
  end: "15,45 * * * *",
  desiredReplicas: "10",
};

// KEDA's testCronMetadata table: [metadata, isError].
const parseCases: [M, boolean][] = [
  [{}, true],
  [validCronMetadata, false],
  [validCronMetadata2, false],
  [validCronMetadata3, false],
  [{ timezone: "Asia/Kolkata", start: "30 * * * *", end: "45 * * * *" }, true],
  [{ start: "30 * * * *", end: "45 * * * *", desiredReplicas: "10" }, true],
  [{ timezone: "Asia/Kolkata", start: "30-33 * * * *", end: "45 * * * *", desiredReplicas: "10" }, false],
  [{ timezone: "Asia/Kolkata", start: "30 * * * *", end: "45-50 * * * *", desiredReplicas: "10" }, false],
  [{ timezone: "Asia/Kolkata", start: "-30 * * * *", end: "45 * * * *", desiredReplicas: "10" }, true],
  [{ timezone: "Asia/Kolkata", start: "30 * * * *", end: "-50 * * * *", desiredReplicas: "10" }, true],
  [{ timezone: "Asia/Kolkata", start: "30 * * * *", end: "50 * * -3 *", desiredReplicas: "10" }, true],
  [{ timezone: "Asia/Kolkata", start: "30 * * * *", end: "30 * * * *", desiredReplicas: "10" }, true],
];

parseCases.forEach(([metadata, isError], i) => {
  test(`cron parse (KEDA testCronMetadata[${i}]): ${JSON.stringify(metadata)} → ${isError ? "error" : "ok"}`, () => {
    const r = parseCronTrigger({ metadata });
    assert.equal(r.ok, !isError, r.ok ? "expected an error" : JSON.stringify(r.errors));
  });
});

test("cron parse: all problems at once, each naming its parameter, in KEDA's words", () => {
  const r = parseCronTrigger({
    metadata: { start: "61 * * * *", end: "61 * * * *", timezone: "Mars/Olympus", desiredReplicas: "0" },
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(
    r.errors.map((e) => e.parameter),
    ["start", "end", "end", "desiredReplicas", "timezone"],
  );
  assert.match(r.errors[0]!.message, /^error parsing start schedule: /);
  assert.equal(r.errors[2]!.message, "start and end can not have exactly same time input");
  assert.equal(r.errors[3]!.message, "no desiredReplicas specified");
  assert.match(r.errors[4]!.message, /IANA/);
  const missing = parseCronTrigger({ metadata: {} });
  assert.ok(!missing.ok);
  assert.deepEqual(
    missing.errors.map((e) => e.message),
    ["start", "end", "timezone", "desiredReplicas"].map(
      (p) => `missing required parameter "${p}" in [triggerMetadata]`,
    ),
  );
});

test("cron parse: only KEDA's 5-field form; no seconds field, nicknames or L/W/# modifiers", () => {
  for (const bad of [
    "0 0 0 * * *",
    "@hourly",
    "0 0 L * *",
    "0 0 15W * *",
    "0 0 * * 5#2",
    "0 0 * * 5L",
    "0 0 *",
  ]) {
    assert.equal(parseCronSchedule(bad).ok, false, bad);
  }
  for (const good of ["0 0 1 JAN,jul *", "0 0 ? * MON", "*/5 * * * *", "0 9-17 * * 1-5", "0 0 * * 6"]) {
    assert.equal(parseCronSchedule(good).ok, true, good);
  }
});

test("cron parse: desiredReplicas is a JSON int64; negative values are refused", () => {
  for (const v of ["1.5", "abc", "-1"]) {
    const r = parseCronTrigger({ metadata: { ...validCronMetadata, desiredReplicas: v } });
    assert.equal(r.ok, false, v);
    if (!r.ok) assert.equal(r.errors[0]!.parameter, "desiredReplicas");
  }
  assert.equal(meta({ ...validCronMetadata, desiredReplicas: " 3 " }).desiredReplicas, 3);
});

// KEDA's TestIsActive / TestGetMetrics depend on the wall clock (active on Thursdays); here the same
// fixture is evaluated at fixed instants. 2024-01-04 is a Thursday.
test("cron active (KEDA TestIsActive/TestGetMetrics): Thursday 00:00 to 23:59 UTC", () => {
  const m = meta(validCronMetadata);
  const cases: [string, boolean][] = [
    ["2024-01-03T12:00:00Z", false], // Wednesday
    ["2024-01-04T00:00:00Z", true], // the start minute itself
    ["2024-01-04T12:00:00Z", true],
    ["2024-01-04T23:58:59Z", true],
    ["2024-01-04T23:59:00Z", false], // the end minute: next end is a week away, next start first
    ["2024-01-05T00:30:00Z", false], // Friday
  ];
  for (const [at, want] of cases) {
    assert.equal(cronIsActive(m, new Date(at)), want, at);
    assert.equal(cronMetricValue(m, new Date(at)), want ? 10 : 0, at);
  }
});

test("cron active (KEDA TestIsActiveRange/TestGetMetricsRange): even hours active, every hour of a day", () => {
  const m = meta(validCronMetadata2);
  for (let h = 0; h < 24; h++) {
    const at = new Date(Date.UTC(2024, 0, 1, h, 30));
    assert.equal(cronIsActive(m, at), h % 2 === 0, at.toISOString());
  }
});

test("cron active: comma lists (KEDA validCronMetadata3), minutes 0-14 and 30-44", () => {
  const m = meta(validCronMetadata3);
  for (let minute = 0; minute < 60; minute++) {
    const at = new Date(Date.UTC(2024, 0, 1, 10, minute, 20));
    assert.equal(
      cronIsActive(m, at),
      (minute >= 0 && minute < 15) || (minute >= 30 && minute < 45),
      `minute ${minute}`,
    );
  }
});

test("cron active: the timezone decides (Asia/Kolkata is UTC+05:30)", () => {
  const m = meta({ timezone: "Asia/Kolkata", start: "30 * * * *", end: "45 * * * *", desiredReplicas: "2" });
  assert.equal(cronIsActive(m, new Date("2024-01-01T00:05:00Z")), true); // 05:35 local
  assert.equal(cronIsActive(m, new Date("2024-01-01T00:20:00Z")), false); // 05:50 local
  assert.equal(cronIsActive(m, new Date("2024-01-01T00:35:00Z")), false); // 06:05 local
});

test("cron active: a window across midnight, and across a DST change", () => {
  const night = meta({ timezone: "Etc/UTC", start: "0 22 * * *", end: "0 6 * * *", desiredReplicas: "1" });
  assert.equal(cronIsActive(night, new Date("2024-01-01T23:00:00Z")), true);
  assert.equal(cronIsActive(night, new Date("2024-01-02T03:00:00Z")), true);
  assert.equal(cronIsActive(night, new Date("2024-01-02T12:00:00Z")), false);
  // Europe/Paris moves from +01:00 to +02:00 at 2024-03-31 02:00 local.
  const office = meta({
    timezone: "Europe/Paris",
    start: "0 8 * * *",
    end: "0 18 * * *",
    desiredReplicas: "1",
  });
  assert.equal(cronIsActive(office, new Date("2024-03-31T05:30:00Z")), false); // 07:30 CEST
  assert.equal(cronIsActive(office, new Date("2024-03-31T06:30:00Z")), true); // 08:30 CEST
  assert.equal(cronIsActive(office, new Date("2024-03-31T15:59:00Z")), true); // 17:59 CEST
  assert.equal(cronIsActive(office, new Date("2024-03-31T16:00:00Z")), false); // 18:00 CEST
  assert.deepEqual(
    nextCronTime(schedule("30 2 * * *"), "Europe/Paris", new Date("2024-03-30T12:00:00Z")),
    new Date("2024-04-01T00:30:00Z"),
    "02:30 does not exist on 2024-03-31",
  );
  assert.deepEqual(
    nextCronTime(schedule("30 2 * * *"), "Europe/Paris", new Date("2024-10-26T12:00:00Z")),
    new Date("2024-10-27T00:30:00Z"),
    "the first 02:30 of 2024-10-27",
  );
  assert.deepEqual(
    nextCronTime(schedule("30 2 * * *"), "Europe/Paris", new Date("2024-10-27T00:30:00Z")),
    new Date("2024-10-28T01:30:00Z"),
    "not the repeated 02:30",
  );
});

test("cron active: start and end on the same minute count as active (KEDA's else branch)", () => {
  const m = meta({ timezone: "Etc/UTC", start: "0 * * * *", end: "0 0 * * *", desiredReplicas: "1" });
  assert.equal(cronIsActive(m, new Date("2024-01-01T23:30:00Z")), true);
  assert.equal(cronIsActive(m, new Date("2024-01-01T12:30:00Z")), false);
});

test("next fire time: day-of-month and day-of-week both restricted means either (KEDA's parser)", () => {
  const from = new Date("2024-01-02T00:00:00Z"); // Tuesday
  assert.deepEqual(nextCronTime(schedule("0 0 1 * Mon"), "Etc/UTC", from), new Date("2024-01-08T00:00:00Z"));
  assert.deepEqual(nextCronTime(schedule("0 0 1 * *"), "Etc/UTC", from), new Date("2024-02-01T00:00:00Z"));
  assert.deepEqual(nextCronTime(schedule("0 0 * * Mon"), "Etc/UTC", from), new Date("2024-01-08T00:00:00Z"));
  assert.deepEqual(nextCronTime(schedule("0 0 ? * Mon"), "Etc/UTC", from), new Date("2024-01-08T00:00:00Z"));
  assert.deepEqual(nextCronTime(schedule("0 12 29 2 *"), "Etc/UTC", from), new Date("2024-02-29T12:00:00Z"));
});

test("next fire time: none within five years stands for KEDA's zero time", () => {
  const from = new Date("2097-03-01T00:00:00Z"); // next 29 February is in 2104
  const leap = schedule("0 0 29 2 *");
  assert.equal(nextCronTime(leap, "Etc/UTC", from), undefined);
  const daily = schedule("0 12 * * *");
  const base = { timezone: "Etc/UTC", desiredReplicas: 1 };
  assert.equal(cronIsActive({ ...base, start: leap, end: daily }, from), true);
  assert.equal(cronIsActive({ ...base, start: daily, end: leap }, from), false);
  assert.equal(cronIsActive({ ...base, start: leap, end: leap }, from), true);
});

test("cronMetricName matches KEDA's cronMetricIdentifiers", () => {
  assert.equal(cronMetricName(meta(validCronMetadata), 0), "s0-cron-Etc-UTC-00xxThu-5923xxThu");
  assert.equal(cronMetricName(meta(validCronMetadata2), 1), "s1-cron-Etc-UTC-0xSl2xxx-01-23Sl2xxx");
  assert.equal(cronMetricName(meta(validCronMetadata3), 2), "s2-cron-Etc-UTC-0Cm30xxxx-15Cm45xxxx");
});
