/**
 * The `cron` trigger (KEDA's cron scaler): between a `start` and an `end` schedule, in an IANA
 * `timezone`, the trigger asks for `desiredReplicas`; outside it asks for nothing and is inactive.
 * Expressions are parsed in cron-expression.ts (robfig/cron's rules) and fire times found in
 * cron-next.ts; both are re-exported here.
 */
import { parseCronSchedule, type CronSchedule } from "./cron-expression.js";
import { isIanaTimeZone, nextCronTime } from "./cron-next.js";
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

export * from "./cron-expression.js";
export * from "./cron-next.js";

/** A cron trigger's parameters, typed. */
export interface CronTriggerMetadata {
  timezone: string;
  start: CronSchedule;
  end: CronSchedule;
  desiredReplicas: number;
}

const META: readonly ParamSource[] = ["triggerMetadata"];

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
