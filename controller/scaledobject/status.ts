/**
 * ScaledObject status, both ways: the decision's state seeded from a status written earlier (a restarted or
 * newly elected controller continues where the last one stopped: lastActiveTime, health, fallback and pause
 * state, conditions), and the status patch for one evaluation's outcome. Pure functions.
 */
import type { Condition, ScaledObjectStatus } from "../../core/crd/index.js";
import {
  initialScalingState,
  type ConditionStatus,
  type Conditions,
  type ScalingState,
} from "../../core/scaling/index.js";
import type { StatusChanges } from "../kube/status.js";
import type { ReadyEvaluation } from "./prepare.js";

const CONDITION_TYPES = ["Ready", "Active", "Fallback", "Paused"] as const;

/** metav1.Time: RFC 3339, UTC, whole seconds. */
export function toKubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

function asStatus(s: string): ConditionStatus | undefined {
  return s === "True" || s === "False" || s === "Unknown" ? s : undefined;
}

/** The decision's state from the status of the ScaledObject (first evaluation after a start or a failover). */
export function seedStateFromStatus(status: ScaledObjectStatus | undefined): ScalingState {
  const state = initialScalingState();
  if (!status) return state;
  if (status.lastActiveTime) {
    const t = Date.parse(status.lastActiveTime);
    if (Number.isFinite(t)) state.lastActiveTime = t;
  }
  for (const [name, h] of Object.entries(status.health ?? {})) {
    state.health[name] = {
      numberOfFailures: h.numberOfFailures ?? 0,
      status: h.status === "Failing" ? "Failing" : "Happy",
    };
  }
  for (const c of status.conditions ?? []) {
    const type = CONDITION_TYPES.find((t) => t === c.type);
    const st = asStatus(c.status);
    if (!type || !st) continue;
    state.conditions[type] = { status: st, reason: c.reason ?? "", message: c.message ?? "" };
  }
  state.fallbackActive = state.conditions.Fallback.status === "True";
  // A full pause says "ScaledObject is paused"; paused-scale-in/out also set Paused=True but do not pause.
  state.paused =
    state.conditions.Paused.status === "True" && state.conditions.Paused.message === "ScaledObject is paused";
  return state;
}

/** The four conditions in KEDA's order, as status conditions. */
export function conditionList(c: Conditions): Condition[] {
  return CONDITION_TYPES.map((type) => ({
    type,
    status: c[type].status,
    reason: c[type].reason,
    message: c[type].message,
  }));
}

/** The Ready condition of a status, if any. */
export function readyStatus(status: ScaledObjectStatus | undefined): string | undefined {
  return status?.conditions?.find((c) => c.type === "Ready")?.status;
}

export interface ScaleTargetInfo {
  group: string;
  version: string;
  kind: string;
  resource: string;
}

export interface EvaluationStatusInput {
  name: string;
  conditions: Conditions;
  state: ScalingState;
  /** Fallback configured (status.health exists only then, as in KEDA). */
  fallbackConfigured: boolean;
  triggers: readonly { metricName: string; type: string }[];
  /** Metric names of the active triggers. */
  activeTriggers: readonly string[];
  /** authenticationRef names, in trigger order. */
  authenticationRefs: readonly string[];
  target: ScaleTargetInfo;
  /** status.originalReplicaCount to write when it is not set yet. */
  originalReplicaCount?: number;
  /** paused-replicas while paused with it. */
  pausedReplicas?: number;
  /** Sum of the kafka triggers' lag; undefined leaves status.currentLag as it is (no kafka read succeeded). */
  currentLag?: number;
  currentReplicas: number;
}

/** The status fields one evaluation sets (null removes a field). */
export function statusAfterEvaluation(
  input: EvaluationStatusInput,
  old: ScaledObjectStatus | undefined,
): StatusChanges<ScaledObjectStatus> {
  const t = input.target;
  const changes: StatusChanges<ScaledObjectStatus> = {
    scaleTargetKind: `${t.group ? `${t.group}/` : ""}${t.version}.${t.kind}`,
    scaleTargetGVKR: { group: t.group, version: t.version, kind: t.kind, resource: t.resource },
    conditions: conditionList(input.conditions),
    externalMetricNames: input.triggers.map((x) => x.metricName),
    triggersTypes: [...new Set(input.triggers.map((x) => x.type))].join(","),
    hpaName: `keda-hpa-${input.name}`,
    currentReplicas: input.currentReplicas,
    pausedReplicaCount: input.pausedReplicas ?? null,
    lastActiveTime: input.state.lastActiveTime !== undefined ? toKubeTime(input.state.lastActiveTime) : null,
  };
  const auths = [...new Set(input.authenticationRefs)];
  changes.authenticationsTypes = auths.length > 0 ? auths.join(",") : null;
  if (input.triggers.length > 0 || input.activeTriggers.length > 0) {
    const activity: Record<string, { isActive: boolean }> = {};
    for (const x of input.triggers)
      activity[x.metricName] = { isActive: input.activeTriggers.includes(x.metricName) };
    changes.triggersActivity = activity;
  }
  if (input.fallbackConfigured) {
    const health: NonNullable<ScaledObjectStatus["health"]> = {};
    for (const [name, h] of Object.entries(input.state.health)) {
      health[name] = { numberOfFailures: h.numberOfFailures, status: h.status };
    }
    changes.health = health;
  } else changes.health = null;
  if (input.currentLag !== undefined) changes.currentLag = input.currentLag;
  if (old?.originalReplicaCount === undefined && input.originalReplicaCount !== undefined) {
    changes.originalReplicaCount = input.originalReplicaCount;
  }
  return changes;
}

/**
 * Ready=False reasons: KEDA's two for a failed check, and lagscale's for an evaluation that threw or overran
 * its budget (retried with backoff).
 */
export type FailureReason =
  "ScaledObjectCheckFailed" | "ErrorGettingCurrentReplicas" | "EvaluationFailed" | "EvaluationTimedOut";

/**
 * The status after a failed check (invalid spec, target missing or not scalable, trigger parameters that do
 * not parse) or a failed evaluation: Ready=False with the reason and message, Active unknown. Nothing else
 * changes, and nothing is scaled.
 */
export function statusAfterCheckFailure(
  reason: FailureReason,
  message: string,
): StatusChanges<ScaledObjectStatus> {
  return {
    conditions: [
      { type: "Ready", status: "False", reason, message },
      { type: "Active", status: "Unknown", reason: "UnknownState", message: "ScaledObject check failed" },
    ],
  };
}

/**
 * The status changes of one evaluation that reached a decision: statusAfterEvaluation's input from the
 * prepared object and the decision. A paused object's triggers were not read: what status says about them
 * stays.
 */
export function statusOfEvaluation(
  p: ReadyEvaluation,
  o: {
    state: ScalingState;
    activeTriggers: readonly string[];
    originalReplicaCount: number | undefined;
    currentReplicas: number;
    lagSum: number | undefined;
  },
): StatusChanges<ScaledObjectStatus> {
  const so = p.so;
  const read = p.triggers.length > 0;
  const input: EvaluationStatusInput = {
    name: so.metadata.name ?? "",
    conditions: o.state.conditions,
    state: o.state,
    fallbackConfigured: p.spec.fallback !== undefined,
    triggers: read
      ? p.triggers.map((t) => ({ metricName: t.metricName, type: t.kind }))
      : (so.status?.externalMetricNames ?? []).map((m) => ({
          metricName: m,
          type: so.status?.triggersTypes ?? "",
        })),
    activeTriggers: o.activeTriggers,
    authenticationRefs: p.resolved.spec.triggers.flatMap((t) =>
      t.authenticationRef ? [t.authenticationRef.name] : [],
    ),
    target: p.scale.target,
    currentReplicas: o.currentReplicas,
  };
  if (o.originalReplicaCount !== undefined) input.originalReplicaCount = o.originalReplicaCount;
  if (p.pause.pausedReplicas !== undefined) input.pausedReplicas = p.pause.pausedReplicas;
  if (p.triggers.some((t) => t.kind === "kafka") && o.lagSum !== undefined) input.currentLag = o.lagSum;
  const changes = statusAfterEvaluation(input, so.status);
  if (!read) {
    delete changes.externalMetricNames;
    delete changes.triggersTypes;
    delete changes.triggersActivity;
  }
  return changes;
}
