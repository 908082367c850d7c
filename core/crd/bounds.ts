/**
 * KEDA's replica-bound and fallback checks (keda-semantics.md §2.2 and §2.9.1), run by the admission
 * webhook and on every reconcile. Pure functions of the spec as stored (before defaults).
 */
import type { ScaledObjectSpec } from "./scaledobject.js";

export interface BoundsError {
  path: string;
  message: string;
}

type ReplicaFields = Pick<ScaledObjectSpec, "minReplicaCount" | "maxReplicaCount" | "idleReplicaCount">;

/** KEDA's GetHPAMinReplicas: minReplicaCount when > 0, else 1. */
export function hpaMinReplicas(spec: Pick<ScaledObjectSpec, "minReplicaCount">): number {
  return spec.minReplicaCount !== undefined && spec.minReplicaCount > 0 ? spec.minReplicaCount : 1;
}

/** KEDA's GetHPAMaxReplicas: maxReplicaCount, or 100. */
export function hpaMaxReplicas(spec: Pick<ScaledObjectSpec, "maxReplicaCount">): number {
  return spec.maxReplicaCount ?? 100;
}

/**
 * KEDA's CheckReplicaCountBoundsAreValid. Quirk kept on purpose (KEDA-DIFFERENCES lists no departure):
 * an unset minReplicaCount counts as 0 but an explicit one counts as at least 1, so idleReplicaCount 0
 * is refused with min unset and accepted with an explicit `minReplicaCount: 0`.
 */
export function checkReplicaCountBounds(spec: ReplicaFields): BoundsError | undefined {
  const min = spec.minReplicaCount === undefined ? 0 : hpaMinReplicas(spec);
  const max = hpaMaxReplicas(spec);
  if (min > max) {
    return {
      path: "spec.minReplicaCount",
      message: `MinReplicaCount=${min} must be less than MaxReplicaCount=${max}`,
    };
  }
  if (spec.idleReplicaCount !== undefined && spec.idleReplicaCount >= min) {
    return {
      path: "spec.idleReplicaCount",
      message: `IdleReplicaCount=${spec.idleReplicaCount} must be less than MinReplicaCount=${min}`,
    };
  }
  return undefined;
}

/** KEDA's IsUsingModifiers: any scalingModifiers field set. */
export function isUsingScalingModifiers(spec: Pick<ScaledObjectSpec, "advanced">): boolean {
  const m = spec.advanced?.scalingModifiers;
  return m !== undefined && Object.values(m).some((v) => v !== undefined && v !== "");
}

/**
 * KEDA's CheckFallbackValid, plus the scalingModifiers parts of §2.9.1 and webhook rule W10: the
 * modifiers' target must be a number > 0, and behavior scalingModifiers needs a formula.
 */
export function checkFallbackValid(
  spec: Pick<ScaledObjectSpec, "fallback" | "advanced" | "triggers">,
): BoundsError | undefined {
  const fb = spec.fallback;
  if (fb === undefined) return undefined;
  if (fb.failureThreshold < 0 || fb.replicas < 0) {
    return {
      path: "spec.fallback",
      message: `FailureThreshold=${fb.failureThreshold} & Replicas=${fb.replicas} must both be greater than or equal to 0`,
    };
  }
  const modifiers = spec.advanced?.scalingModifiers;
  if (isUsingScalingModifiers(spec)) {
    const target = modifiers?.target;
    if (target !== undefined && target !== "") {
      const n = Number(target);
      if (!Number.isFinite(n) || n <= 0 || target.trim() === "") {
        return {
          path: "spec.advanced.scalingModifiers.target",
          message: `scalingModifiers.target must be a number greater than 0 for the fallback to work, got ${JSON.stringify(target)}`,
        };
      }
    }
  } else if (!spec.triggers.some((t) => t.type !== "cpu" && t.type !== "memory")) {
    return {
      path: "spec.fallback",
      message:
        "at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled",
    };
  }
  if (fb.behavior === "scalingModifiers" && !modifiers?.formula) {
    return {
      path: "spec.fallback.behavior",
      message: "fallback.behavior scalingModifiers requires advanced.scalingModifiers.formula",
    };
  }
  return undefined;
}
