/**
 * The `cron` trigger (KEDA's cron scaler): between a `start` and an `end` schedule, in an IANA
 * `timezone`, the trigger asks for `desiredReplicas`; outside it asks for nothing and is inactive.
 *
 * Expressions are parsed by node-cron (its `validateDetailed`/`parse`), limited to the five fields KEDA's
 * parser accepts (minute hour day-of-month month day-of-week; no seconds field, no `@hourly` nicknames,
 * no `L`/`W`/`#` modifiers). Fire times are then computed here from node-cron's expanded field sets,
 * with KEDA's day rule (when both day-of-month and day-of-week are restricted, either may match).
 */
import { parse as parseCronFields, validateDetailed } from "node-cron";
import {
  metricNameWithIndex,
  normalizeMetricNamePart,
  ParamReader,
  type ParamSource,
  type ParseResult,
  type TriggerParamsInput,
} from "./params.js";

export interface CronSchedule {
  /** The expression as written (trimmed). */
  expression: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday. */
  daysOfWeek: ReadonlySet<number>;
  /** The field was `*` or `?` (possibly `*\/1`): KEDA's "star bit", which makes the day rule an AND. */
  dayOfMonthStar: boolean;
  dayOfWeekStar: boolean;
}

/** A cron trigger's parameters, typed. */
export interface CronTriggerMetadata {
  timezone: string;
  start: CronSchedule;
  end: CronSchedule;
  desiredReplicas: number;
}

const META: readonly ParamSource[] = ["triggerMetadata"];

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Parses one 5-field expression, or returns why not (message in KEDA's "error parsing … schedule" shape). */
export function parseCronSchedule(
  expression: string,
): { ok: true; value: CronSchedule } | { ok: false; message: string } {
  const fields = expression.trim().split(/\s+/);
  if (expression.trim().startsWith("@")) {
    return {
      ok: false,
      message: `descriptors such as ${JSON.stringify(expression.trim())} are not supported; use 5 fields`,
    };
  }
  if (fields.length !== 5) {
    return {
      ok: false,
      message: `expected exactly 5 fields (minute hour day-of-month month day-of-week), found ${fields.length}: ${JSON.stringify(expression)}`,
    };
  }
  const modifier = fields.find((f) =>
    f
      .split(",")
      .some((t) => t.includes("#") || t === "L" || t === "LW" || /^[0-9]+L$/.test(t) || /W$/.test(t)),
  );
  if (modifier !== undefined) {
    return {
      ok: false,
      message: `the L, W and # modifiers are not supported (in ${JSON.stringify(modifier)})`,
    };
  }
  const detailed = validateDetailed(fields.join(" "));
  if (!detailed.valid) {
    return { ok: false, message: detailed.errors.map((e) => e.message).join("; ") };
  }
  const parsed = parseCronFields(fields.join(" "));
  const numbers = (values: readonly (number | string)[]): Set<number> =>
    new Set(values.filter((v): v is number => typeof v === "number"));
  const star = (f: string): boolean => f === "*" || f === "?" || f === "*/1" || f === "?/1";
  return {
    ok: true,
    value: {
      expression: fields.join(" "),
      minutes: numbers(parsed.minute),
      hours: numbers(parsed.hour),
      daysOfMonth: numbers(parsed.dayOfMonth),
      months: numbers(parsed.month),
      daysOfWeek: new Set([...numbers(parsed.dayOfWeek)].map((d) => d % 7)),
      dayOfMonthStar: star(fields[2]!),
      dayOfWeekStar: star(fields[4]!),
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
  if (timezone !== undefined && !isValidTimeZone(timezone)) {
    r.error(
      "timezone",
      `timezone ${JSON.stringify(timezone)} is not an IANA time zone name (for example Etc/UTC or Europe/Paris)`,
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

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function localParts(ms: number, timezone: string): LocalParts {
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
    formatters.set(timezone, f);
  }
  const out: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, weekday: 0 };
  for (const p of f.formatToParts(ms)) {
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

const MINUTE = 60_000;
/** KEDA's parser gives up looking for the next fire time five years ahead; so does this. */
export const CRON_SEARCH_LIMIT_MS = 5 * 366 * 24 * 60 * MINUTE;

/**
 * The first whole minute strictly after `from` at which `schedule` fires in `timezone`, or undefined
 * when there is none within five years. Skips non-matching days and hours in one step each, so a
 * yearly schedule costs a few thousand steps, not half a million. Across a DST change the wall-clock
 * minutes that do not exist never fire, and repeated ones fire on their first occurrence only.
 */
export function nextCronTime(schedule: CronSchedule, timezone: string, from: Date): Date | undefined {
  let t = Math.floor(from.getTime() / MINUTE) * MINUTE + MINUTE;
  const limit = from.getTime() + CRON_SEARCH_LIMIT_MS;
  let lastFired: string | undefined;
  while (t <= limit) {
    const p = localParts(t, timezone);
    if (!schedule.months.has(p.month) || !dayMatches(schedule, p)) {
      t += ((23 - p.hour) * 60 + (60 - p.minute)) * MINUTE;
      continue;
    }
    if (!schedule.hours.has(p.hour)) {
      t += (60 - p.minute) * MINUTE;
      continue;
    }
    if (schedule.minutes.has(p.minute)) {
      const wall = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
      if (wall !== lastFired && !repeatsEarlierWallClock(t, timezone, wall)) return new Date(t);
      lastFired = wall;
    }
    t += MINUTE;
  }
  return undefined;
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
