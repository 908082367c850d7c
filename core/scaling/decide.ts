/**
 * The ScaledObject replica decision: KEDA's operator rules (activation, min/idle, cooldown,
 * initialCooldownPeriod, fallback, pause) and the HPA's 1..N algorithm in one pure function, plus what
 * sidecar reports add (stalled lag is not work; during a rebalance hold still but for a scale-up).
 *
 * One call is one evaluation. The state it returns (lastActiveTime, per-trigger health, conditions, the HPA's
 * histories) is passed back in on the next call; nothing is kept anywhere else.
 */
import {
  fallbackIsValid,
  fallbackMetricValue,
  fallbackReplicas,
  isBeyondThreshold,
  updateHealth,
  type HealthMap,
} from "./fallback.js";
import { hpaReconcile, resolveBehavior, type HPAHistory, type HPAMetric, type HPAResult } from "./hpa.js";
import type { ScalingSpec } from "./spec.js";

export interface TriggerInput {
  /** The trigger's metric name (e.g. `s0-kafka-orders`): the key of status.health and of events. */
  name: string;
  /** `kafka`, `cron`, ... (informational). */
  type: string;
  /** This evaluation's metric value; absent when the read failed. */
  metricValue?: number;
  /** The target: lagThreshold for kafka (averageValue, or value with metricType Value). */
  target: number;
  metricType: "AverageValue" | "Value";
  /** The trigger's activity (kafka: lag strictly greater than activationLagThreshold). */
  active?: boolean;
  /** Set when the read failed, whatever the cause (D5: an unreachable Kafka is a failed read like any other). */
  error?: string;
}

/** The pause annotations, already parsed (lagscale.io/* or autoscaling.keda.sh/*). */
export interface PauseInput {
  /** `paused: "true"`: hold at the current count. */
  paused: boolean;
  /** `paused-replicas: N`: scale to N, then hold. Its presence alone means paused. */
  pausedReplicas?: number;
  /** `paused-scale-in: "true"`: never deactivate; the HPA may not scale down. */
  pausedScaleIn?: boolean;
  /** `paused-scale-out: "true"`: never activate; the HPA may not scale up. */
  pausedScaleOut?: boolean;
  /** `force-activation: "true"`: treated as active. */
  forceActivation?: boolean;
}

/** What the sidecars' reports add, summed over the target's pods. */
export interface ReportsSummary {
  /** Per trigger name: lag on partitions that make no progress (poison messages). Not work more pods would do. */
  stalledLag?: Record<string, number>;
  /** A consumer-group rebalance is under way: hold still. */
  rebalancing?: boolean;
  /**
   * Replicas the drain-time target asks for (drain.ts, opt-in). One more metric for the HPA step, which takes
   * the largest: it can raise the lagThreshold recommendation, never lower it, and never activates from 0.
   */
  drainReplicas?: number;
}

/** The HPA metric name of the drain-time target (messages and events). */
export const DRAIN_METRIC_NAME = "lagscale-drain-time";

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  status: ConditionStatus;
  reason: string;
  message: string;
}

export interface Conditions {
  Ready: Condition;
  Active: Condition;
  Fallback: Condition;
  Paused: Condition;
}

export interface ScalingEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface ScalingState {
  /** Epoch milliseconds of the last evaluation in which the ScaledObject was active (status.lastActiveTime). */
  lastActiveTime?: number;
  /** status.health: consecutive failed evaluations per trigger (kept only when fallback is configured, as KEDA). */
  health: HealthMap;
  /** Some trigger is falling back (the Fallback condition). */
  fallbackActive: boolean;
  /** Fully paused at the last evaluation (for the Paused/Unpaused events). */
  paused: boolean;
  conditions: Conditions;
  /**
   * What the HPA would remember: recommendations and scale events. Undefined for a new object and after a
   * start, a failover or a pause, as a new HPA (or a restarted HPA controller) has no memory.
   */
  hpa?: HPAHistory;
}

export function initialConditions(): Conditions {
  return {
    Ready: {
      status: "Unknown",
      reason: "ScaledObjectCheckFailed",
      message: "ScaledObject check not yet done",
    },
    Active: { status: "Unknown", reason: "UnknownState", message: "ScaledObject check not yet done" },
    Fallback: { status: "Unknown", reason: "UnknownState", message: "ScaledObject check not yet done" },
    Paused: { status: "False", reason: "ScaledObjectUnpaused", message: "ScaledObject is not paused" },
  };
}

export function initialScalingState(): ScalingState {
  return {
    health: {},
    fallbackActive: false,
    paused: false,
    conditions: initialConditions(),
  };
}

export interface DecideInput {
  spec: ScalingSpec;
  triggers: TriggerInput[];
  /** spec.replicas of the target. */
  currentReplicas: number;
  /** status.replicas of the target (pods an AverageValue target averages over). Default currentReplicas. */
  statusReplicas?: number;
  /** Ready pods of the target (Value targets, Value fallback). Default currentReplicas. */
  readyReplicas?: number;
  pause?: PauseInput;
  reports?: ReportsSummary;
  /** Epoch milliseconds. */
  now: number;
  /** The ScaledObject's creationTimestamp, epoch milliseconds (initialCooldownPeriod). Unset reads as 0. */
  createdAt?: number;
  /** How events name the target, e.g. `apps/v1.Deployment default/consumer`. */
  targetRef?: string;
  /** The state returned by the previous evaluation; absent the first time. */
  history?: ScalingState;
}

export type DecisionReason =
  | "paused"
  | "paused-replicas"
  | "activate"
  | "scale-out-paused"
  | "deactivate"
  | "cooldown"
  | "min-replicas"
  | "hpa"
  | "trigger-error"
  | "rebalancing"
  | "no-change";

export type Decision =
  | { kind: "scale"; replicas: number; reason: DecisionReason; message: string }
  | { kind: "hold"; reason: DecisionReason; message: string };

export interface DecideResult {
  decision: Decision;
  /** State for the next evaluation, assuming a `scale` decision was applied. */
  state: ScalingState;
  /** State for the next evaluation when the `/scale` write failed. Equal to `state` for a hold. */
  stateIfScaleFails: ScalingState;
  conditions: Conditions;
  /** Events to emit now. */
  events: ScalingEvent[];
  /** Events to emit only once the `/scale` write succeeded. */
  eventsIfScaled: ScalingEvent[];
  /** The event to emit when the `/scale` write failed. */
  eventIfScaleFails?: ScalingEvent;
  isActive: boolean;
  isError: boolean;
  /** Names of the active triggers (status.triggersActivity, event texts). */
  activeTriggers: string[];
  /** Names of the triggers answering with their fallback value. */
  fallbackTriggers: string[];
  /** The HPA step, when one ran. */
  hpa?: HPAResult;
}

const READY: Condition = {
  status: "True",
  reason: "ScaledObjectReady",
  message: "ScaledObject is defined correctly and is ready for scaling",
};

function isFailed(t: TriggerInput): boolean {
  return t.error !== undefined || t.metricValue === undefined || !Number.isFinite(t.metricValue);
}

export function decideScaledObject(input: DecideInput): DecideResult {
  const prev = input.history ?? initialScalingState();
  const { spec, now } = input;
  const cur = input.currentReplicas;
  const pause = input.pause ?? { paused: false };
  const target = input.targetRef ?? "scale target";
  const conditions: Conditions = { ...prev.conditions, Ready: READY };
  const events: ScalingEvent[] = [];

  // ---- Pause (§2.10): the triggers are not evaluated; the HPA is gone, so its memory goes with it.
  if (pause.paused || pause.pausedReplicas !== undefined) {
    conditions.Paused = { status: "True", reason: "ScaledObjectPaused", message: "ScaledObject is paused" };
    if (!prev.paused)
      events.push({ type: "Normal", reason: "ScaledObjectPaused", message: "ScaledObject is paused" });
    const state: ScalingState = { ...prev, paused: true, conditions };
    delete state.hpa;
    const base = { state, stateIfScaleFails: state, conditions, events, eventsIfScaled: [] };
    const summary = { isActive: false, isError: false, activeTriggers: [], fallbackTriggers: [] };
    if (pause.pausedReplicas !== undefined && pause.pausedReplicas !== cur) {
      const n = pause.pausedReplicas;
      return {
        ...base,
        ...summary,
        decision: {
          kind: "scale",
          replicas: n,
          reason: "paused-replicas",
          message: `paused at ${n} replicas`,
        },
      };
    }
    return {
      ...base,
      ...summary,
      decision: { kind: "hold", reason: "paused", message: "ScaledObject is paused" },
    };
  }
  if (prev.paused) {
    events.push({
      type: "Normal",
      reason: "ScaledObjectUnpaused",
      message: "pause annotation removed for ScaledObject",
    });
  }
  if (pause.pausedScaleIn || pause.pausedScaleOut) {
    const what =
      pause.pausedScaleIn && pause.pausedScaleOut
        ? "scale in and out"
        : pause.pausedScaleIn
          ? "scale in"
          : "scale out";
    conditions.Paused = {
      status: "True",
      reason: "ScaledObjectPaused",
      message: `ScaledObject ${what} is paused`,
    };
  } else if (prev.paused || conditions.Paused.status === "True") {
    conditions.Paused = {
      status: "False",
      reason: "ScaledObjectUnpaused",
      message: "pause annotation removed for ScaledObject",
    };
  }

  // ---- Triggers: failures, health (D6: one count per evaluation), fallback (§2.9), activity (§2.4).
  const failed = input.triggers.map(isFailed);
  input.triggers.forEach((t, i) => {
    if (failed[i]) {
      events.push({
        type: "Warning",
        reason: "KEDAScalerFailed",
        message: t.error ?? `trigger ${t.name} returned no metric value`,
      });
    }
  });
  const fallback = fallbackIsValid(spec.fallback) ? spec.fallback : undefined;
  const health: HealthMap = spec.fallback
    ? updateHealth(
        prev.health,
        input.triggers.map((t, i) => ({ name: t.name, failed: failed[i]! })),
      )
    : {};
  const ready = input.readyReplicas ?? cur;
  const stalled = input.reports?.stalledLag ?? {};
  const metrics: HPAMetric[] = [];
  const activeTriggers: string[] = [];
  const fallbackTriggers: string[] = [];
  let isError = false;
  input.triggers.forEach((t, i) => {
    const base = { name: t.name, target: t.target, metricType: t.metricType };
    if (failed[i]) {
      const synthetic =
        fallback && isBeyondThreshold(fallback, health[t.name])
          ? fallbackMetricValue(t.target, t.metricType, fallbackReplicas(fallback, cur), ready)
          : undefined;
      if (synthetic === undefined) {
        isError = true;
        metrics.push(base);
        return;
      }
      fallbackTriggers.push(t.name);
      activeTriggers.push(t.name);
      metrics.push({ ...base, value: synthetic });
      return;
    }
    if (t.active === true) activeTriggers.push(t.name);
    metrics.push({ ...base, value: Math.max(0, t.metricValue! - Math.max(0, stalled[t.name] ?? 0)) });
  });
  const drain = input.reports?.drainReplicas;
  if (drain !== undefined && drain > 0 && cur > 0) {
    // AverageValue with target 1: the HPA proposes ceil(value / 1) = drain replicas.
    metrics.push({ name: DRAIN_METRIC_NAME, target: 1, metricType: "AverageValue", value: drain });
  }
  const forced = pause.forceActivation === true;
  const isActive = activeTriggers.length > 0 || forced;

  const fallbackActive = fallbackTriggers.length > 0;
  conditions.Fallback = fallbackActive
    ? {
        status: "True",
        reason: "FallbackExists",
        message: "At least one trigger is falling back on this scaled object",
      }
    : {
        status: "False",
        reason: "NoFallbackFound",
        message: "No fallbacks are active on this scaled object",
      };
  if (fallbackActive && !prev.fallbackActive) {
    events.push({
      type: "Normal",
      reason: "ScaledObjectFallbackActivated",
      message: `Fallback activated for triggers ${fallbackTriggers.join(";")}`,
    });
  } else if (!fallbackActive && prev.fallbackActive) {
    events.push({
      type: "Normal",
      reason: "ScaledObjectFallbackDeactivated",
      message: "Fallback deactivated: every trigger answers again",
    });
  }

  // ---- The decision table (§2.5, §2.6), then the HPA for 1..N (§2.8).
  let lastActiveTime = prev.lastActiveTime;
  const rebalancing = input.reports?.rebalancing === true && cur > 0;
  const summary = { isActive, isError, activeTriggers, fallbackTriggers };
  const finish = (
    decision: Decision,
    opts: {
      hpa?: HPAResult;
      eventsIfScaled?: ScalingEvent[];
      eventIfScaleFails?: ScalingEvent;
      activated?: boolean;
    } = {},
  ): DecideResult => {
    const hpaHistory = opts.hpa?.history ?? prev.hpa;
    const state: ScalingState = {
      lastActiveTime: opts.activated ? now : lastActiveTime,
      health,
      fallbackActive,
      paused: false,
      conditions,
      ...(hpaHistory ? { hpa: hpaHistory } : {}),
    };
    if (state.lastActiveTime === undefined) delete state.lastActiveTime;
    let stateIfScaleFails = state;
    if (decision.kind === "scale") {
      // The HPA records its recommendation before scaling, its scale event only after; KEDA sets
      // lastActiveTime on activation only once the scale succeeded.
      stateIfScaleFails = {
        ...state,
        ...(hpaHistory && {
          hpa: {
            ...hpaHistory,
            scaleUpEvents: prev.hpa?.scaleUpEvents ?? [],
            scaleDownEvents: prev.hpa?.scaleDownEvents ?? [],
          },
        }),
      };
      if (lastActiveTime === undefined) delete stateIfScaleFails.lastActiveTime;
      else stateIfScaleFails.lastActiveTime = lastActiveTime;
    }
    const result: DecideResult = {
      decision,
      state,
      stateIfScaleFails,
      conditions,
      events,
      eventsIfScaled: opts.eventsIfScaled ?? [],
      ...summary,
    };
    if (opts.eventIfScaleFails) result.eventIfScaleFails = opts.eventIfScaleFails;
    if (opts.hpa) result.hpa = opts.hpa;
    return result;
  };
  const holdForRebalance = (): DecideResult =>
    finish({
      kind: "hold",
      reason: "rebalancing",
      message: "a consumer-group rebalance is under way: holding still",
    });

  const hpaStep = (holdReason: DecisionReason): DecideResult => {
    const base = resolveBehavior(spec.advanced?.horizontalPodAutoscalerConfig?.behavior);
    const behavior = {
      scaleUp: pause.pausedScaleOut ? { ...base.scaleUp, selectPolicy: "Disabled" as const } : base.scaleUp,
      scaleDown: pause.pausedScaleIn
        ? { ...base.scaleDown, selectPolicy: "Disabled" as const }
        : base.scaleDown,
    };
    const hpa = hpaReconcile({
      currentReplicas: cur,
      statusReplicas: input.statusReplicas ?? cur,
      readyReplicas: ready,
      minReplicas: Math.max(1, spec.minReplicaCount),
      maxReplicas: spec.maxReplicaCount,
      metrics,
      behavior,
      history: prev.hpa,
      now,
    });
    // A rebalance holds everything but a scale-up: pods that join now enter the rebalance under way, where
    // waiting for it to end would start a second one (and pods' states mean nothing for a scale-in meanwhile).
    if (rebalancing && !(hpa.rescale && hpa.replicas > cur)) return holdForRebalance();
    if (hpa.rescale) {
      return finish(
        { kind: "scale", replicas: hpa.replicas, reason: "hpa", message: `${hpa.reason}: ${hpa.message}` },
        { hpa },
      );
    }
    const reason = hpa.reason === "InvalidMetrics" ? "trigger-error" : holdReason;
    return finish({ kind: "hold", reason, message: `${hpa.reason}: ${hpa.message}` }, { hpa });
  };

  const min = spec.minReplicaCount;
  const idle = spec.idleReplicaCount;
  if (isActive) {
    conditions.Active = {
      status: "True",
      reason: "ScalerActive",
      message: forced
        ? "Scaling is performed because activation is being forced by annotation"
        : "Scaling is performed because triggers are active",
    };
    if ((idle !== undefined && cur < min) || cur === 0) {
      // A1: activate
      if (pause.pausedScaleOut) {
        // No activation; the HPA keeps its own rules (disabled at 0, raises a count below its min).
        return hpaStep("scale-out-paused");
      }
      const n = min > 0 ? min : 1;
      if (cur > 0 && rebalancing) return holdForRebalance();
      const why = forced
        ? "caused by forced activation annotation"
        : `triggered by ${activeTriggers.join(";")}`;
      return finish(
        { kind: "scale", replicas: n, reason: "activate", message: `activating from ${cur} to ${n}, ${why}` },
        {
          activated: true,
          eventsIfScaled: [
            {
              type: "Normal",
              reason: "KEDAScaleTargetActivated",
              message: `Scaled ${target} from ${cur} to ${n}, ${why}`,
            },
          ],
          eventIfScaleFails: {
            type: "Warning",
            reason: "KEDAScaleTargetActivationFailed",
            message: `Failed to scale ${target} from ${cur} to ${n}`,
          },
        },
      );
    }
    if (isError) {
      // A2: some triggers active, some failing
      conditions.Ready = {
        status: "Unknown",
        reason: "PartialTriggerError",
        message: "Some triggers defined in ScaledObject are not working correctly",
      };
    } else {
      // A3
      lastActiveTime = now;
    }
    return hpaStep("no-change");
  }

  conditions.Active = {
    status: "False",
    reason: "ScalerNotActive",
    message: "Scaling is not performed because triggers are not active",
  };
  if (isError && spec.fallback && spec.fallback.replicas !== 0) {
    // I1: wait for the fallback; never scale to 0 here.
    return hpaStep("trigger-error");
  }
  if (isError && !spec.fallback) {
    // I2
    conditions.Ready = {
      status: "False",
      reason: "TriggerError",
      message: "Triggers defined in ScaledObject are not working correctly",
    };
    return hpaStep("trigger-error");
  }
  if ((idle !== undefined && cur > idle) || (cur > 0 && min === 0)) {
    // I3: deactivation after cooldown (§2.6)
    if (isError) {
      // D5: a failed read, Kafka unreachable included, never takes the target to zero or idle.
      return hpaStep("trigger-error");
    }
    if (pause.pausedScaleIn) return hpaStep("no-change");
    const cooledDown =
      lastActiveTime === undefined
        ? (input.createdAt ?? 0) + spec.initialCooldownPeriod * 1000 < now
        : lastActiveTime + spec.cooldownPeriod * 1000 < now;
    if (!cooledDown) {
      conditions.Active = {
        status: "False",
        reason: "ScalerCooldown",
        message: "Scaler cooling down because triggers are not active",
      };
      return hpaStep("cooldown");
    }
    if (rebalancing) return holdForRebalance();
    const n = idle ?? min;
    return finish(
      { kind: "scale", replicas: n, reason: "deactivate", message: `deactivating from ${cur} to ${n}` },
      {
        eventsIfScaled: [
          {
            type: "Normal",
            reason: "KEDAScaleTargetDeactivated",
            message: `Deactivated ${target} from ${cur} to ${n}`,
          },
        ],
        eventIfScaleFails: {
          type: "Warning",
          reason: "KEDAScaleTargetDeactivationFailed",
          message: `Failed to deactivate ${target} from ${cur} to ${n}`,
        },
      },
    );
  }
  if (idle === undefined && cur < min) {
    // I4. KEDA raises the count even under paused-scale-out; lagscale honours the annotation here as it does
    // for activation, so that more lag can never mean fewer replicas.
    if (pause.pausedScaleOut) return hpaStep("scale-out-paused");
    if (rebalancing) return holdForRebalance();
    return finish({
      kind: "scale",
      replicas: min,
      reason: "min-replicas",
      message: `raising ${cur} to minReplicaCount ${min}`,
    });
  }
  // I5: nothing for the operator to do; the HPA still works 1..N (at 0 it is disabled).
  return hpaStep("no-change");
}
