/**
 * The part of a ScaledObject's spec that the replica decision reads, with KEDA's field names and KEDA's
 * defaults already applied. The CRD type maps onto it field for field; `scalingSpecWithDefaults` applies the
 * defaults to a spec as written by a user.
 */

/** One policy of `advanced.horizontalPodAutoscalerConfig.behavior.scaleUp/scaleDown.policies`. */
export interface HPAScalingPolicy {
  type: "Pods" | "Percent";
  value: number;
  periodSeconds: number;
}

export type SelectPolicy = "Max" | "Min" | "Disabled";

/** `behavior.scaleUp` or `behavior.scaleDown` as written (every field optional, as in autoscaling/v2). */
export interface HPAScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: SelectPolicy;
  policies?: HPAScalingPolicy[];
  /** Kubernetes 1.33+ per-direction tolerance (a Quantity such as "0.05"); the controller flag's 0.1 when unset. */
  tolerance?: number | string;
}

export interface HPABehavior {
  scaleUp?: HPAScalingRules;
  scaleDown?: HPAScalingRules;
}

export type FallbackBehavior =
  "static" | "currentReplicas" | "currentReplicasIfHigher" | "currentReplicasIfLower";

export interface FallbackSpec {
  failureThreshold: number;
  replicas: number;
  behavior: FallbackBehavior;
}

export interface ScalingSpec {
  /** Default 0. */
  minReplicaCount: number;
  /** Default 100. */
  maxReplicaCount: number;
  /** Unset: idle mode off. */
  idleReplicaCount?: number;
  /** Seconds, default 300. */
  cooldownPeriod: number;
  /** Seconds, default 0. */
  initialCooldownPeriod: number;
  /** Seconds, default 30 (the controller's loop period; the decision itself does not read it). */
  pollingInterval: number;
  fallback?: FallbackSpec;
  advanced?: {
    restoreToOriginalReplicaCount?: boolean;
    horizontalPodAutoscalerConfig?: { name?: string; behavior?: HPABehavior };
  };
}

/** A ScaledObject spec as a user writes it: every field optional. */
export interface ScalingSpecInput {
  minReplicaCount?: number;
  maxReplicaCount?: number;
  idleReplicaCount?: number;
  cooldownPeriod?: number;
  initialCooldownPeriod?: number;
  pollingInterval?: number;
  fallback?: { failureThreshold: number; replicas: number; behavior?: FallbackBehavior };
  advanced?: ScalingSpec["advanced"];
}

export const SCALED_OBJECT_DEFAULTS = {
  minReplicaCount: 0,
  maxReplicaCount: 100,
  cooldownPeriod: 300,
  initialCooldownPeriod: 0,
  pollingInterval: 30,
  fallbackBehavior: "static",
} as const;

/** Applies KEDA's defaults (§2.1 of the semantics notes). */
export function scalingSpecWithDefaults(input: ScalingSpecInput): ScalingSpec {
  const spec: ScalingSpec = {
    minReplicaCount: input.minReplicaCount ?? SCALED_OBJECT_DEFAULTS.minReplicaCount,
    maxReplicaCount: input.maxReplicaCount ?? SCALED_OBJECT_DEFAULTS.maxReplicaCount,
    cooldownPeriod: input.cooldownPeriod ?? SCALED_OBJECT_DEFAULTS.cooldownPeriod,
    initialCooldownPeriod: input.initialCooldownPeriod ?? SCALED_OBJECT_DEFAULTS.initialCooldownPeriod,
    pollingInterval: input.pollingInterval ?? SCALED_OBJECT_DEFAULTS.pollingInterval,
  };
  if (input.idleReplicaCount !== undefined) spec.idleReplicaCount = input.idleReplicaCount;
  if (input.fallback) {
    spec.fallback = {
      failureThreshold: input.fallback.failureThreshold,
      replicas: input.fallback.replicas,
      behavior: input.fallback.behavior ?? SCALED_OBJECT_DEFAULTS.fallbackBehavior,
    };
  }
  if (input.advanced) spec.advanced = input.advanced;
  return spec;
}
