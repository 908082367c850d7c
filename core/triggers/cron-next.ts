/**
 * When a cron schedule fires next, in an IANA time zone, with KEDA's day rule and five-year horizon.
 * The search skips whole months, days and hours (a few hundred steps at worst), a schedule that cannot
 * fire costs nothing, and answers are cached per (schedule, timezone) until they pass. Time zones are
 * checked as Go's LoadLocation finds them: exact IANA names.
 */
import type { CronSchedule } from "./cron-expression.js";
import { IANA_TIME_ZONE_NAMES } from "./tz-names.js";

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
