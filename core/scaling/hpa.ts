/**
 * The HorizontalPodAutoscaler's algorithm, as Kubernetes' HPA controller applies it to external metrics, so
 * that lagscale can scale 1..N itself without creating an HPA. Pure: the recommendation history and the
 * scale-event history the HPA keeps in memory are passed in and returned, and `now` is an argument.
 *
 * Times are milliseconds since the epoch; windows and periods are seconds, as in the API.
 */
import { parseTolerance } from "../crd/quantity.js";
import type { HPABehavior, HPAScalingPolicy, HPAScalingRules, SelectPolicy } from "./spec.js";

/** The HPA controller's `--horizontal-pod-autoscaler-tolerance`. */
export const DEFAULT_TOLERANCE = 0.1;
/** The HPA controller's `--horizontal-pod-autoscaler-downscale-stabilization` (5 minutes). */
export const DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS = 300;

export interface ResolvedScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: SelectPolicy;
  policies: HPAScalingPolicy[];
  tolerance: number;
}

export interface ResolvedBehavior {
  scaleUp: ResolvedScalingRules;
  scaleDown: ResolvedScalingRules;
}

/**
 * The tolerance as the quantity it is (`50m` = 0.05). A spec reaches here only after
 * controller/scaledobject/spec.ts has refused an invalid one, so the throw marks a caller's bug.
 */
function toleranceOf(t: number | string | undefined): number {
  if (t === undefined) return DEFAULT_TOLERANCE;
  const r = parseTolerance(t);
  if (!r.ok) throw new Error(`tolerance: ${r.message}`);
  return r.value;
}

/** Kubernetes' defaults for `behavior.scaleUp`, filling what the user left out. */
export function resolveScaleUpRules(rules?: HPAScalingRules): ResolvedScalingRules {
  return {
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? 0,
    selectPolicy: rules?.selectPolicy ?? "Max",
    policies:
      rules?.policies && rules.policies.length > 0
        ? rules.policies
        : [
            { type: "Pods", value: 4, periodSeconds: 15 },
            { type: "Percent", value: 100, periodSeconds: 15 },
          ],
    tolerance: toleranceOf(rules?.tolerance),
  };
}

/** Kubernetes' defaults for `behavior.scaleDown`, filling what the user left out. */
export function resolveScaleDownRules(rules?: HPAScalingRules): ResolvedScalingRules {
  return {
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS,
    selectPolicy: rules?.selectPolicy ?? "Max",
    policies:
      rules?.policies && rules.policies.length > 0
        ? rules.policies
        : [{ type: "Percent", value: 100, periodSeconds: 15 }],
    tolerance: toleranceOf(rules?.tolerance),
  };
}

export function resolveBehavior(behavior?: HPABehavior): ResolvedBehavior {
  return {
    scaleUp: resolveScaleUpRules(behavior?.scaleUp),
    scaleDown: resolveScaleDownRules(behavior?.scaleDown),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Replica calculator: one metric's proposal

export interface HPAMetric {
  /** The metric's name (for messages only). */
  name: string;
  /** Undefined when the metric could not be read: an invalid metric, as for the HPA. */
  value?: number;
  /** The target: averageValue for AverageValue, value for Value. */
  target: number;
  metricType: "AverageValue" | "Value";
}

/**
 * A metric value as KEDA hands it to the HPA: a quantity with milli precision; negative, NaN and infinite
 * values become 0.
 */
export function toMilli(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.trunc(value * 1000);
}

export interface Tolerances {
  scaleUp: number;
  scaleDown: number;
}

function withinTolerance(ratio: number, t: Tolerances): boolean {
  return 1 - t.scaleDown <= ratio && ratio <= 1 + t.scaleUp;
}

/**
 * One external metric's replica proposal.
 * - AverageValue: ratio = usage / (target × statusReplicas); outside the tolerance, ceil(usage / target), else
 *   statusReplicas.
 * - Value: ratio = usage / target; outside the tolerance, ceil(ratio × readyReplicas), else currentReplicas; at 0
 *   current replicas, ceil(ratio).
 */
export function metricReplicas(
  metric: { value: number; target: number; metricType: "AverageValue" | "Value" },
  replicas: { current: number; status: number; ready: number },
  tolerances: Tolerances,
): number {
  const usage = toMilli(metric.value);
  const target = toMilli(metric.target);
  if (target <= 0) throw new Error(`metric target ${metric.target} must be greater than 0`);
  if (metric.metricType === "AverageValue") {
    const ratio = usage / (target * replicas.status);
    if (withinTolerance(ratio, tolerances)) return replicas.status;
    return Math.ceil(usage / target);
  }
  const ratio = usage / target;
  if (replicas.current === 0) return Math.ceil(ratio);
  if (withinTolerance(ratio, tolerances)) return replicas.current;
  return Math.ceil(ratio * replicas.ready);
}

// ---------------------------------------------------------------------------------------------------------
// Behaviour: stabilization windows and rate policies

export interface Recommendation {
  replicas: number;
  timestamp: number;
}

export interface ScaleEvent {
  replicaChange: number;
  timestamp: number;
  outdated: boolean;
}

/** What the HPA controller remembers per HPA between syncs. */
export interface HPAHistory {
  recommendations: Recommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}

export function emptyHPAHistory(): HPAHistory {
  return { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };
}

const after = (t: number, cutoff: number): boolean => t > cutoff;
const before = (t: number, cutoff: number): boolean => t < cutoff;

/**
 * Stabilization: the recommendation is kept between the lowest recommendation of the scale-up window and the
 * highest of the scale-down window (both including this one), starting from the current replicas. The
 * unstabilized recommendation is recorded, replacing a sample older than both windows when there is one.
 */
export function stabilizeRecommendation(
  args: {
    currentReplicas: number;
    desiredReplicas: number;
    scaleUpWindowSeconds: number;
    scaleDownWindowSeconds: number;
  },
  recommendations: readonly Recommendation[],
  now: number,
): {
  replicas: number;
  reason: "ScaleUpStabilized" | "ScaleDownStabilized";
  recommendations: Recommendation[];
} {
  const upCutoff = now - args.scaleUpWindowSeconds * 1000;
  const downCutoff = now - args.scaleDownWindowSeconds * 1000;
  let upRecommendation = args.desiredReplicas;
  let downRecommendation = args.desiredReplicas;
  let oldSampleIndex = -1;
  recommendations.forEach((rec, i) => {
    if (after(rec.timestamp, upCutoff)) upRecommendation = Math.min(rec.replicas, upRecommendation);
    if (after(rec.timestamp, downCutoff)) downRecommendation = Math.max(rec.replicas, downRecommendation);
    if (before(rec.timestamp, upCutoff) && before(rec.timestamp, downCutoff)) oldSampleIndex = i;
  });
  let replicas = args.currentReplicas;
  if (replicas < upRecommendation) replicas = upRecommendation;
  if (replicas > downRecommendation) replicas = downRecommendation;

  const next = recommendations.map((r) => ({ ...r }));
  const sample = { replicas: args.desiredReplicas, timestamp: now };
  if (oldSampleIndex >= 0) next[oldSampleIndex] = sample;
  else next.push(sample);
  const reason = args.desiredReplicas >= args.currentReplicas ? "ScaleUpStabilized" : "ScaleDownStabilized";
  return { replicas, reason, recommendations: next };
}

/** Sum of the replica changes of the events newer than `periodSeconds` ago. */
export function replicasChangePerPeriod(
  periodSeconds: number,
  events: readonly ScaleEvent[],
  now: number,
): number {
  const cutoff = now - periodSeconds * 1000;
  let change = 0;
  for (const e of events) if (after(e.timestamp, cutoff)) change += e.replicaChange;
  return change;
}

/** The most replicas the scale-up policies allow now, counting from each policy's period start. */
export function scaleUpLimit(
  currentReplicas: number,
  upEvents: readonly ScaleEvent[],
  downEvents: readonly ScaleEvent[],
  rules: ResolvedScalingRules,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return currentReplicas;
  const pick = rules.selectPolicy === "Min" ? Math.min : Math.max;
  let result = rules.selectPolicy === "Min" ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const policy of rules.policies) {
    const added = replicasChangePerPeriod(policy.periodSeconds, upEvents, now);
    const deleted = replicasChangePerPeriod(policy.periodSeconds, downEvents, now);
    const periodStart = currentReplicas - added + deleted;
    const proposed =
      policy.type === "Pods" ? periodStart + policy.value : Math.ceil(periodStart * (1 + policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** The fewest replicas the scale-down policies allow now, counting from each policy's period start. */
export function scaleDownLimit(
  currentReplicas: number,
  upEvents: readonly ScaleEvent[],
  downEvents: readonly ScaleEvent[],
  rules: ResolvedScalingRules,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return currentReplicas;
  // For scaling down, the smallest change ("Min") is the highest replica count.
  const pick = rules.selectPolicy === "Min" ? Math.max : Math.min;
  let result = rules.selectPolicy === "Min" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const policy of rules.policies) {
    const added = replicasChangePerPeriod(policy.periodSeconds, upEvents, now);
    const deleted = replicasChangePerPeriod(policy.periodSeconds, downEvents, now);
    const periodStart = currentReplicas - added + deleted;
    const proposed =
      policy.type === "Pods"
        ? periodStart - policy.value
        : Math.trunc(periodStart * (1 - policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

export type RateLimitReason =
  "DesiredWithinRange" | "ScaleUpLimit" | "TooManyReplicas" | "ScaleDownLimit" | "TooFewReplicas";

/** Applies the rate policies and the [min, max] bounds to a (stabilized) recommendation. */
export function limitByBehaviorRate(
  args: {
    currentReplicas: number;
    desiredReplicas: number;
    minReplicas: number;
    maxReplicas: number;
    behavior: ResolvedBehavior;
  },
  history: Pick<HPAHistory, "scaleUpEvents" | "scaleDownEvents">,
  now: number,
): { replicas: number; reason: RateLimitReason } {
  const { currentReplicas: cur, desiredReplicas: desired } = args;
  if (desired > cur) {
    let limit = scaleUpLimit(cur, history.scaleUpEvents, history.scaleDownEvents, args.behavior.scaleUp, now);
    // Recent scale-ups can put the limit under the current count: then no further scale-up for now.
    if (limit < cur) limit = cur;
    const byRate = args.maxReplicas > limit;
    const maxAllowed = byRate ? limit : args.maxReplicas;
    if (desired > maxAllowed)
      return { replicas: maxAllowed, reason: byRate ? "ScaleUpLimit" : "TooManyReplicas" };
  } else if (desired < cur) {
    let limit = scaleDownLimit(
      cur,
      history.scaleUpEvents,
      history.scaleDownEvents,
      args.behavior.scaleDown,
      now,
    );
    if (limit > cur) limit = cur;
    const byRate = args.minReplicas < limit;
    const minAllowed = byRate ? limit : args.minReplicas;
    if (desired < minAllowed)
      return { replicas: minAllowed, reason: byRate ? "ScaleDownLimit" : "TooFewReplicas" };
  }
  return { replicas: desired, reason: "DesiredWithinRange" };
}

/** Longest policy period of one direction: events older than that are never read again and can be reused. */
function longestPolicyPeriod(rules: ResolvedScalingRules): number {
  return rules.policies.reduce((m, p) => Math.max(m, p.periodSeconds), 0);
}

function storeEvent(
  events: readonly ScaleEvent[],
  change: number,
  longestPeriod: number,
  now: number,
): ScaleEvent[] {
  const cutoff = now - longestPeriod * 1000;
  const next = events.map((e) => ({ ...e, outdated: e.outdated || before(e.timestamp, cutoff) }));
  let reuse = -1;
  next.forEach((e, i) => {
    if (e.outdated) reuse = i;
  });
  const event = { replicaChange: change, timestamp: now, outdated: false };
  if (reuse >= 0) next[reuse] = event;
  else next.push(event);
  return next;
}

/** Records a scale from `prev` to `next` replicas, reusing the last outdated slot as the HPA does. */
export function storeScaleEvent(
  behavior: ResolvedBehavior,
  history: HPAHistory,
  prev: number,
  next: number,
  now: number,
): HPAHistory {
  if (next > prev) {
    const up = storeEvent(history.scaleUpEvents, next - prev, longestPolicyPeriod(behavior.scaleUp), now);
    return { ...history, scaleUpEvents: up };
  }
  const down = storeEvent(history.scaleDownEvents, prev - next, longestPolicyPeriod(behavior.scaleDown), now);
  return { ...history, scaleDownEvents: down };
}

// ---------------------------------------------------------------------------------------------------------
// One HPA sync

export interface HPAInput {
  /** spec.replicas of the target (the `/scale` subresource). */
  currentReplicas: number;
  /** status.replicas of the target: the pods an AverageValue target is averaged over. Default currentReplicas. */
  statusReplicas?: number;
  /** Ready pods, for Value targets. Default currentReplicas. */
  readyReplicas?: number;
  minReplicas: number;
  maxReplicas: number;
  metrics: HPAMetric[];
  behavior: ResolvedBehavior;
  /** What this HPA remembers; undefined when it has no memory yet (seeded as the HPA does). */
  history: HPAHistory | undefined;
  now: number;
}

export type HPAReason =
  | "ScalingDisabled"
  | "AboveMaxReplicas"
  | "BelowMinReplicas"
  | "InvalidMetrics"
  | RateLimitReason
  | "ScaleUpStabilized"
  | "ScaleDownStabilized";

export interface HPAResult {
  /** The replica count the HPA asks for; equal to currentReplicas when it would not rescale. */
  replicas: number;
  rescale: boolean;
  reason: HPAReason;
  message: string;
  /** Per-metric proposals (undefined for an invalid metric), in the order of the input. */
  proposals: (number | undefined)[];
  /** The history to pass next time, assuming the rescale (if any) is applied. */
  history: HPAHistory;
}

/**
 * One reconcile of an HPA over external metrics: the bounds first (a target above max or below min is moved
 * straight to the bound), then the metrics' maximum proposal, stabilized and rate-limited by the behaviour.
 * With any invalid metric the HPA may still scale up on the others but never down; with every metric invalid
 * it does nothing. At 0 current replicas (and minReplicas > 0) scaling is disabled, as for the HPA.
 */
export function hpaReconcile(input: HPAInput): HPAResult {
  const cur = input.currentReplicas;
  // The HPA's recordInitialRecommendation: with no memory (a new object, a restart, a failover, an unpause)
  // the current replicas are the first recommendation, so nothing scales down before a full window of
  // observations. An empty history is memory too (the Kubernetes tests' empty slice), and is not seeded.
  const seeded: HPAHistory = input.history ?? {
    recommendations: [{ replicas: cur, timestamp: input.now }],
    scaleUpEvents: [],
    scaleDownEvents: [],
  };
  const hold = (reason: HPAReason, message: string, proposals: (number | undefined)[] = []): HPAResult => ({
    replicas: cur,
    rescale: false,
    reason,
    message,
    proposals,
    history: seeded,
  });
  if (cur === 0 && input.minReplicas !== 0) {
    return hold("ScalingDisabled", "scaling is disabled since the replica count of the target is zero");
  }

  let desired: number;
  let reason: HPAReason;
  let message: string;
  let history = seeded;
  let proposals: (number | undefined)[] = [];
  if (cur > input.maxReplicas) {
    desired = input.maxReplicas;
    reason = "AboveMaxReplicas";
    message = "Current number of replicas above Spec.MaxReplicas";
  } else if (cur < input.minReplicas) {
    desired = input.minReplicas;
    reason = "BelowMinReplicas";
    message = "Current number of replicas below Spec.MinReplicas";
  } else {
    const replicas = {
      current: cur,
      status: input.statusReplicas ?? cur,
      ready: input.readyReplicas ?? cur,
    };
    const tolerances = {
      scaleUp: input.behavior.scaleUp.tolerance,
      scaleDown: input.behavior.scaleDown.tolerance,
    };
    proposals = input.metrics.map((m) =>
      m.value === undefined ? undefined : metricReplicas({ ...m, value: m.value }, replicas, tolerances),
    );
    const valid = proposals.filter((p): p is number => p !== undefined);
    const invalid = proposals.length - valid.length;
    const best = valid.reduce((m, p) => Math.max(m, p), 0);
    if (valid.length === 0 || (invalid > 0 && best < cur)) {
      const names = input.metrics.filter((m) => m.value === undefined).map((m) => m.name);
      return hold(
        "InvalidMetrics",
        `invalid metrics (${invalid} invalid out of ${proposals.length}): ${names.join(", ")}`,
        proposals,
      );
    }
    const stabilized = stabilizeRecommendation(
      {
        currentReplicas: cur,
        desiredReplicas: best,
        scaleUpWindowSeconds: input.behavior.scaleUp.stabilizationWindowSeconds,
        scaleDownWindowSeconds: input.behavior.scaleDown.stabilizationWindowSeconds,
      },
      history.recommendations,
      input.now,
    );
    history = { ...history, recommendations: stabilized.recommendations };
    const limited = limitByBehaviorRate(
      {
        currentReplicas: cur,
        desiredReplicas: stabilized.replicas,
        minReplicas: input.minReplicas,
        maxReplicas: input.maxReplicas,
        behavior: input.behavior,
      },
      history,
      input.now,
    );
    desired = limited.replicas;
    if (limited.reason === "DesiredWithinRange" && stabilized.replicas !== best) {
      reason = stabilized.reason;
      message =
        stabilized.reason === "ScaleUpStabilized"
          ? "recent recommendations were lower than current one, applying the lowest recent recommendation"
          : "recent recommendations were higher than current one, applying the highest recent recommendation";
    } else {
      reason = limited.reason;
      message = `metrics propose ${best}, stabilized ${stabilized.replicas}, limited to ${desired} (${limited.reason})`;
    }
  }
  const rescale = desired !== cur;
  if (rescale) history = storeScaleEvent(input.behavior, history, cur, desired, input.now);
  return { replicas: desired, rescale, reason, message, proposals, history };
}
