/**
 * The `cron` trigger (KEDA's cron scaler): between a `start` and an `end` schedule, in an IANA
 * `timezone`, the trigger asks for `desiredReplicas`; outside it asks for nothing and is inactive.
 *
 * Expressions are validated as KEDA's parser validates them (robfig/cron v3, five fields: minute hour
 * day-of-month month day-of-week; no seconds field, no `@hourly` descriptors, no `L`/`W`/`#`), token by
 * token and with its messages, and the field sets are built straight from the validated tokens: a range
 * is checked against the field's bounds before anything is expanded, so no expression costs more than
 * its length. Fire times are computed here with KEDA's day rule (when both day-of-month and day-of-week
 * are restricted, either may match); the search skips whole months, days and hours, a schedule that can
 * never fire is known at parse time, and answers are cached per (schedule, timezone) until they pass.
 */
import {
  metricNameWithIndex,
  normalizeMetricNamePart,
  ParamReader,
  quoteValue,
  type ParamSource,
  type ParseResult,
  type TriggerParamsInput,
} from "./params.js";
import { IANA_TIME_ZONE_NAMES } from "./tz-names.js";

export interface CronSchedule {
  /** The expression as written (trimmed, fields joined by one space). */
  expression: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday. */
  daysOfWeek: ReadonlySet<number>;
  /** The field had a `*` or `?` without a step above 1: KEDA's "star bit", which makes the day rule an AND. */
  dayOfMonthStar: boolean;
  dayOfWeekStar: boolean;
  /**
   * Whether any calendar date matches (e.g. false for `0 0 30 2 *`, or a `,` field, which robfig takes
   * as no values). A schedule that cannot fire has no next fire time, as robfig's zero time says.
   */
  canFire: boolean;
}

/** A cron trigger's parameters, typed. */
export interface CronTriggerMetadata {
  timezone: string;
  start: CronSchedule;
  end: CronSchedule;
  desiredReplicas: number;
}

const META: readonly ParamSource[] = ["triggerMetadata"];

/**
 * Longest expression accepted. robfig has no limit; one that lists every value of every field spelled
 * out is under 400 characters, so 1024 refuses only what no schedule needs.
 */
export const MAX_CRON_EXPRESSION_LENGTH = 1024;

/**
 * Whether Go's time.LoadLocation, which KEDA uses, finds the name: exact IANA spelling (`europe/paris`
 * and `EUROPE/PARIS` are refused, as Go refuses them), and known to this runtime's Intl.
 */
export function isIanaTimeZone(tz: string): boolean {
  if (!IANA_TIME_ZONE_NAMES.has(tz)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

interface FieldBounds {
  name: string;
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const FIELD_BOUNDS: readonly FieldBounds[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: {
      jan: 1,
      feb: 2,
      mar: 3,
      apr: 4,
      may: 5,
      jun: 6,
      jul: 7,
      aug: 8,
      sep: 9,
      oct: 10,
      nov: 11,
      dec: 12,
    },
  },
  {
    name: "day-of-week",
    min: 0,
    max: 6,
    names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 },
  },
];

/** Go's unicode.IsSpace, which strings.Fields splits on (JS's \s differs: it has U+FEFF, lacks U+0085). */
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
const GO_SPACE_EDGES =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const INT64_MAX = 2n ** 63n - 1n;

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Go's strconv.Atoi then robfig's mustParseInt: optional sign, digits, int64, not negative. */
function mustParseInt(expr: string): Parsed<number> {
  if (!/^[+-]?[0-9]+$/.test(expr)) {
    return { ok: false, message: `failed to parse int from ${expr}: invalid syntax` };
  }
  const n = BigInt(expr); // the expression's length is capped, so this is small work
  if (n > INT64_MAX || n < -INT64_MAX - 1n) {
    return { ok: false, message: `failed to parse int from ${expr}: value out of range` };
  }
  if (n < 0n) return { ok: false, message: `negative number (${n}) not allowed: ${expr}` };
  return { ok: true, value: Number(n) };
}

/** robfig's parseIntOrName: a 3-letter name (any case, as Go's strings.ToLower) or a number. */
function parseIntOrName(expr: string, b: FieldBounds): Parsed<number> {
  if (b.names) {
    const lower = expr.toLowerCase();
    if (Object.prototype.hasOwnProperty.call(b.names, lower)) return { ok: true, value: b.names[lower]! };
  }
  return mustParseInt(expr);
}

interface FieldSet {
  values: Set<number>;
  star: boolean;
}

/** robfig's getRange for one comma-separated term: `*`, `?`, `n`, `a-b`, each with an optional `/step`. */
function addRange(expr: string, b: FieldBounds, into: FieldSet): string | undefined {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = rangeAndStep[0]!.split("-");
  const single = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    // As robfig: anything after `*-` is ignored.
    start = b.min;
    end = b.max;
    star = true;
  } else {
    const s = parseIntOrName(lowAndHigh[0]!, b);
    if (!s.ok) return s.message;
    start = s.value;
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) {
      const e = parseIntOrName(lowAndHigh[1]!, b);
      if (!e.ok) return e.message;
      end = e.value;
    } else return `too many hyphens: ${expr}`;
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    const st = mustParseInt(rangeAndStep[1]!);
    if (!st.ok) return st.message;
    step = st.value;
    if (single) end = b.max; // "n/step" means "n-max/step"
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) return `too many slashes: ${expr}`;
  if (start < b.min) return `beginning of range (${start}) below minimum (${b.min}): ${expr}`;
  if (end > b.max) return `end of range (${end}) above maximum (${b.max}): ${expr}`;
  if (start > end) return `beginning of range (${start}) beyond end of range (${end}): ${expr}`;
  if (step === 0) return `step of range should be a positive number: ${expr}`;
  for (let i = start; i <= end; i += step) into.values.add(i); // at most 60 values: bounds checked above
  if (star) into.star = true;
  return undefined;
}

/** robfig's getField: comma-separated terms, empty ones skipped (Go's strings.FieldsFunc). */
function parseField(field: string, b: FieldBounds): Parsed<FieldSet> {
  const out: FieldSet = { values: new Set(), star: false };
  for (const term of field.split(",")) {
    if (term === "") continue;
    const err = addRange(term, b, out);
    if (err !== undefined) return { ok: false, message: `${b.name} field: ${err}` };
  }
  return { ok: true, value: out };
}

const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether some date (29 February included: one falls in every five-year search) matches the day fields. */
function anyDayMatches(
  months: ReadonlySet<number>,
  dom: FieldSet,
  dow: FieldSet,
  minutes: ReadonlySet<number>,
  hours: ReadonlySet<number>,
): boolean {
  if (minutes.size === 0 || hours.size === 0 || months.size === 0) return false;
  const domFits = [...months].some((m) => [...dom.values].some((d) => d <= DAYS_IN_MONTH[m]!));
  // Any month has every weekday.
  const dowFits = dow.values.size > 0;
  return dom.star || dow.star ? domFits && dowFits : domFits || dowFits;
}

/** Parses one 5-field expression as robfig/cron's standard parser does, or returns its message. */
export function parseCronSchedule(expression: string): Parsed<CronSchedule> {
  if (expression.length > MAX_CRON_EXPRESSION_LENGTH) {
    return {
      ok: false,
      message: `the expression is ${expression.length} characters long; at most ${MAX_CRON_EXPRESSION_LENGTH} are accepted`,
    };
  }
  const spec = expression.replace(GO_SPACE_EDGES, "");
  if (spec === "") return { ok: false, message: "empty spec string" };
  if (spec.startsWith("TZ=") || spec.startsWith("CRON_TZ=")) {
    return {
      ok: false,
      message: `a TZ= or CRON_TZ= prefix is not supported; set the trigger's timezone parameter instead`,
    };
  }
  if (spec.startsWith("@")) {
    return { ok: false, message: `parser does not accept descriptors: ${spec}; use 5 fields` };
  }
  const fields = spec.split(GO_SPACE);
  if (fields.length !== 5) {
    return {
      ok: false,
      message: `expected exactly 5 fields (minute hour day-of-month month day-of-week), found ${fields.length}: ${JSON.stringify(spec)}`,
    };
  }
  const sets: FieldSet[] = [];
  for (let i = 0; i < 5; i++) {
    const f = parseField(fields[i]!, FIELD_BOUNDS[i]!);
    if (!f.ok) return f;
    sets.push(f.value);
  }
  const [minute, hour, dom, month, dow] = sets as [FieldSet, FieldSet, FieldSet, FieldSet, FieldSet];
  return {
    ok: true,
    value: {
      expression: fields.join(" "),
      minutes: minute.values,
      hours: hour.values,
      daysOfMonth: dom.values,
      months: month.values,
      daysOfWeek: dow.values,
      dayOfMonthStar: dom.star,
      dayOfWeekStar: dow.star,
      canFire: anyDayMatches(month.values, dom, dow, minute.values, hour.values),
    },
  };
}

/** Parses a cron trigger's metadata (all four parameters are required, as in KEDA). */
export function parseCronTrigger(input: TriggerParamsInput): ParseResult<CronTriggerMetadata> {
  const r = new ParamReader(input);
  const startStr = r.requiredString("start", META);
  const endStr = r.requiredString("end", META);
  const timezone = r.requiredString("timezone", META);
  const desiredReplicas = r.int("desiredReplicas", META, undefined);

  let start: CronSchedule | undefined;
  let end: CronSchedule | undefined;
  if (startStr !== undefined) {
    const p = parseCronSchedule(startStr);
    if (p.ok) start = p.value;
    else r.error("start", `error parsing start schedule: ${p.message}`);
  }
  if (endStr !== undefined) {
    const p = parseCronSchedule(endStr);
    if (p.ok) end = p.value;
    else r.error("end", `error parsing end schedule: ${p.message}`);
  }
  if (startStr !== undefined && endStr !== undefined && startStr === endStr) {
    r.error("end", "start and end can not have exactly same time input");
  }
  if (desiredReplicas === 0) r.error("desiredReplicas", "no desiredReplicas specified");
  else if (desiredReplicas !== undefined && desiredReplicas < 0) {
    r.error("desiredReplicas", `desiredReplicas must be a positive integer, got ${desiredReplicas}`);
  }
  // KEDA finds a bad timezone only when evaluating; lagscale says so when the trigger is parsed.
  if (timezone !== undefined && !isIanaTimeZone(timezone)) {
    const hint = [...IANA_TIME_ZONE_NAMES].find((n) => n.toLowerCase() === timezone.toLowerCase());
    r.error(
      "timezone",
      `timezone ${quoteValue(timezone)} is not an IANA time zone name ${hint ? `(names are case-sensitive: did you mean ${hint}?)` : "(for example Etc/UTC or Europe/Paris; names are case-sensitive)"}`,
    );
  }
  // Accepted as KEDA accepts them, but said: a schedule no date matches decides the trigger for good.
  if (start && !start.canFire) {
    r.warnings.push(
      `start schedule ${quoteValue(start.expression)} never fires (no date matches it), so the trigger is always active, as in KEDA`,
    );
  }
  if (end && !end.canFire && start?.canFire !== false) {
    r.warnings.push(
      `end schedule ${quoteValue(end.expression)} never fires (no date matches it), so the trigger is never active, as in KEDA`,
    );
  }
  if (r.errors.length > 0 || !start || !end || timezone === undefined || desiredReplicas === undefined) {
    return { ok: false, errors: r.errors, warnings: r.warnings };
  }
  return { ok: true, value: { timezone, start, end, desiredReplicas }, warnings: r.warnings };
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

/**
 * Bounded caches. Formatters are keyed by the validated (exact IANA) name, so there are at most a
 * few hundred; the cap keeps even direct callers with other spellings from growing it without end.
 */
export const MAX_CACHED_TIME_ZONES = 1024;
/** Next fire times kept, one per (schedule, timezone); least recently used dropped first. */
export const MAX_CACHED_FIRE_TIMES = 4096;

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "short",
    });
    if (formatters.size >= MAX_CACHED_TIME_ZONES) formatters.delete(formatters.keys().next().value!);
    formatters.set(timezone, f);
  }
  return f;
}

function localParts(ms: number, timezone: string): LocalParts {
  const out: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, weekday: 0 };
  for (const p of formatterFor(timezone).formatToParts(ms)) {
    if (p.type === "weekday") out.weekday = WEEKDAYS[p.value] ?? 0;
    else if (
      p.type === "year" ||
      p.type === "month" ||
      p.type === "day" ||
      p.type === "hour" ||
      p.type === "minute"
    ) {
      out[p.type] = Number.parseInt(p.value, 10);
    }
  }
  return out;
}

function dayMatches(s: CronSchedule, t: LocalParts): boolean {
  const dom = s.daysOfMonth.has(t.day);
  const dow = s.daysOfWeek.has(t.weekday);
  return s.dayOfMonthStar || s.dayOfWeekStar ? dom && dow : dom || dow;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const MINUTE = 60_000;
/** KEDA's parser gives up looking for the next fire time five years ahead; so does this. */
export const CRON_SEARCH_LIMIT_MS = 5 * 366 * 24 * 60 * MINUTE;
/**
 * Safety net on the steps of one search. A step skips a month, a day, an hour or to the next matching
 * minute, so a real search takes at most a few hundred (a 29 February four years away: about 160).
 */
export const MAX_CRON_SEARCH_STEPS = 5000;

/**
 * Moves forward `minutes` of wall-clock time, to a local midnight. On a day shortened by a DST change
 * that would land at 01:00 on the day after: step back to its midnight when that midnight exists.
 */
function toMidnight(t: number, minutes: number, timezone: string): number {
  const landed = t + minutes * MINUTE;
  const q = localParts(landed, timezone);
  if ((q.hour !== 0 || q.minute !== 0) && q.hour < 12) {
    const back = landed - (q.hour * 60 + q.minute) * MINUTE;
    if (localParts(back, timezone).day === q.day) return back;
  }
  return landed;
}

function searchNext(schedule: CronSchedule, timezone: string, from: number): number | undefined {
  let t = Math.floor(from / MINUTE) * MINUTE + MINUTE;
  const limit = from + CRON_SEARCH_LIMIT_MS;
  let lastFired: string | undefined;
  for (let steps = 0; t <= limit && steps < MAX_CRON_SEARCH_STEPS; steps++) {
    const p = localParts(t, timezone);
    const toNextDay = (23 - p.hour) * 60 + (60 - p.minute);
    if (!schedule.months.has(p.month)) {
      t = toMidnight(t, (daysInMonth(p.year, p.month) - p.day) * 1440 + toNextDay, timezone);
      continue;
    }
    if (!dayMatches(schedule, p)) {
      t = toMidnight(t, toNextDay, timezone);
      continue;
    }
    if (!schedule.hours.has(p.hour)) {
      t += (60 - p.minute) * MINUTE;
      continue;
    }
    let m = p.minute;
    while (m < 60 && !schedule.minutes.has(m)) m++;
    if (m === 60) {
      t += (60 - p.minute) * MINUTE;
      continue;
    }
    if (m > p.minute) {
      t += (m - p.minute) * MINUTE;
      continue;
    }
    const wall = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
    if (wall !== lastFired && !repeatsEarlierWallClock(t, timezone, wall)) return t;
    lastFired = wall;
    t += MINUTE;
  }
  return undefined;
}

interface CachedFire {
  /** The instant the search started from; the answer holds for any `from` in [from, until). */
  from: number;
  until: number;
  next: number | undefined;
}
const fireTimes = new Map<string, CachedFire>();

/**
 * The first whole minute strictly after `from` at which `schedule` fires in `timezone`, or undefined
 * when there is none within five years (KEDA's zero time). Across a DST change the wall-clock minutes
 * that do not exist never fire, and repeated ones fire on their first occurrence only. An answer is
 * reused until the time it names has passed, since no fire time lies between.
 */
export function nextCronTime(schedule: CronSchedule, timezone: string, from: Date): Date | undefined {
  if (!schedule.canFire) return undefined;
  const at = from.getTime();
  if (!Number.isFinite(at)) return undefined;
  const key = `${timezone}\u0000${schedule.expression}`;
  const hit = fireTimes.get(key);
  if (hit && at >= hit.from && at < hit.until) {
    fireTimes.delete(key);
    fireTimes.set(key, hit);
    return hit.next === undefined ? undefined : new Date(hit.next);
  }
  const next = searchNext(schedule, timezone, at);
  if (fireTimes.size >= MAX_CACHED_FIRE_TIMES) fireTimes.delete(fireTimes.keys().next().value!);
  // With no fire time found, search again an hour later (the five-year window moves on).
  fireTimes.set(key, { from: at, until: next ?? at + 60 * MINUTE, next });
  return next === undefined ? undefined : new Date(next);
}

/** How many next-fire answers and time-zone formatters are cached (for tests of the bounds). */
export function cronCacheSizes(): { fireTimes: number; timeZones: number } {
  return { fireTimes: fireTimes.size, timeZones: formatters.size };
}

/** True when the same local wall-clock minute already happened within the previous 3 hours (DST fall-back). */
function repeatsEarlierWallClock(t: number, timezone: string, wall: string): boolean {
  for (const back of [30, 60, 90, 120, 180]) {
    const p = localParts(t - back * MINUTE, timezone);
    if (`${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}` === wall) return true;
  }
  return false;
}

/**
 * Whether the cron trigger is active at `now`, as KEDA decides it: it computes the next start and the
 * next end after now and is active when the end comes first (or both fall on the same minute), i.e.
 * when now lies between the last start and the next end. When a schedule has no fire time within five
 * years, KEDA's zero time stands in for it, which makes the trigger active unless only `end` is missing.
 */
export function cronIsActive(meta: CronTriggerMetadata, now: Date): boolean {
  const nextStart = nextCronTime(meta.start, meta.timezone, now);
  const nextEnd = nextCronTime(meta.end, meta.timezone, now);
  if (nextStart === undefined) return true;
  if (nextEnd === undefined) return false;
  return nextEnd.getTime() <= nextStart.getTime();
}

/** The replicas the trigger asks for at `now`: desiredReplicas while active, else 0. */
export function cronMetricValue(meta: CronTriggerMetadata, now: Date): number {
  return cronIsActive(meta, now) ? meta.desiredReplicas : 0;
}

/** KEDA's metric name for a cron trigger, e.g. `s0-cron-Etc-UTC-00xxThu-5923xxThu`. */
export function cronMetricName(meta: CronTriggerMetadata, triggerIndex: number): string {
  const format = (s: string): string =>
    s.replace(/ /g, "").replace(/\*/g, "x").replace(/\//g, "Sl").replace(/\?/g, "Qm").replace(/,/g, "Cm");
  const name = `cron-${meta.timezone}-${format(meta.start.expression)}-${format(meta.end.expression)}`;
  return metricNameWithIndex(triggerIndex, normalizeMetricNamePart(name));
}
