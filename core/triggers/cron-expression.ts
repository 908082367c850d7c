/**
 * Cron expressions as KEDA's parser (robfig/cron v3, standard five fields: minute hour day-of-month
 * month day-of-week) validates them: token by token, with its messages, and the field sets built
 * straight from the validated tokens. A range is checked against its field's bounds before anything is
 * expanded, so no expression costs more than its length, and a schedule no date matches is known here.
 */

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

/**
 * Longest expression accepted. robfig has no limit; one that lists every value of every field spelled
 * out is under 400 characters, so 1024 refuses only what no schedule needs.
 */
export const MAX_CRON_EXPRESSION_LENGTH = 1024;

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
