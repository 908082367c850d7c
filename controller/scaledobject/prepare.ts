/**
 * The first stage of a ScaledObject's evaluation, before the batch's Kafka reads: the object's validation
 * and scaling spec (once per version of it), its pause annotations, the target's `/scale` (current replicas
 * as KEDA reads them), the triggers' inputs (TriggerAuthentication, `*FromEnv`) and parameters, and the ready
 * pods for `metricType: Value`. Anything that cannot be read ends in a `failed` result with the reason and
 * message the status and the Event carry; nothing here scales anything.
 */
import {
  parsePauseAnnotations,
  validateScaledObject,
  type ResolvedScaledObject,
  type ScaledObject,
} from "../../core/crd/index.js";
import { errorText } from "../../core/errors.js";
import type { LagReadResult } from "../../core/kafka/types.js";
import type { Logger } from "../../core/log.js";
import type { DecideInput, ScalingSpec } from "../../core/scaling/index.js";
import { resolveScaledObjectInputs, type AuthSources } from "../auth/index.js";
import { isNotFound, NotScalableError, type KubeIO, type ScaleInfo } from "../kube/index.js";
import type { DueKey } from "./loops.js";
import {
  parseTriggers,
  scalingSpecFor,
  type ParsedTrigger,
  type TriggerAuthInput,
  type TriggersResult,
} from "./spec.js";

export type Prepared =
  | { kind: "skip" }
  | {
      kind: "failed";
      so: ScaledObject;
      reason: "ScaledObjectCheckFailed" | "ErrorGettingCurrentReplicas";
      message: string;
      due: DueKey;
    }
  | ReadyEvaluation;

export interface ReadyEvaluation {
  kind: "ready";
  so: ScaledObject;
  resolved: ResolvedScaledObject;
  spec: ScalingSpec;
  scale: ScaleInfo;
  readyReplicas: number | undefined;
  pause: DecideInput["pause"] & { paused: boolean };
  triggers: ParsedTrigger[];
  due: DueKey;
  /** The batch's lag reads, by trigger index (filled in once every object of the batch is prepared). */
  reads: Map<number, { started: number; result: Promise<LagReadResult> }>;
}

/** A ScaledObject's validation (core/crd) and scaling spec, or why it cannot be evaluated. */
type Checked =
  { ok: true; resolved: ResolvedScaledObject; spec: ScalingSpec } | { ok: false; message: string };

export interface PrepareDeps {
  kube: Pick<KubeIO, "scale" | "pods">;
  authSources: AuthSources;
  /** Namespace whose Secrets ClusterTriggerAuthentications read. */
  clusterObjectNamespace?: string | undefined;
  log: Logger;
}

/** The target does not exist (any more) or cannot be scaled: nothing to restore, nothing to retry. */
export function targetIsGone(err: unknown): boolean {
  return (
    isNotFound(err) ||
    err instanceof NotScalableError ||
    /has no kind .* \(is its CRD installed\?\)/.test(errorText(err))
  );
}

/**
 * The object's validation, scaling spec and parsed triggers, computed once per version of it: the informer replaces the
 * cached object on every change, so an unchanged object polled again reuses them (no schema walk and clone
 * per poll). Weak: a replaced or deleted object's entry goes with it.
 */
export class ScaledObjectChecks {
  private readonly checks = new WeakMap<ScaledObject, Checked>();
  /** The parsed triggers of a version of the object, with the auth inputs they were parsed with. */
  private readonly parsed = new WeakMap<ScaledObject, { auth: string; result: TriggersResult }>();

  /**
   * The triggers of `so` parsed with `auth`, reused while the object and its inputs are unchanged: an
   * unchanged object is not parsed again at every poll, and its lag requests stay the same objects, so
   * what is keyed by them (the connection's key) is computed once.
   */
  triggers(
    so: ScaledObject,
    resolved: ResolvedScaledObject,
    auth: readonly TriggerAuthInput[],
  ): TriggersResult {
    const authKey = JSON.stringify(auth);
    const known = this.parsed.get(so);
    if (known?.auth === authKey) return known.result;
    const result = parseTriggers(resolved.spec.triggers, auth);
    this.parsed.set(so, { auth: authKey, result });
    return result;
  }

  get(so: ScaledObject): Checked {
    const known = this.checks.get(so);
    if (known) return known;
    // The informer's object carries server fields the schema does not know in status; validate the spec.
    const v = validateScaledObject({
      apiVersion: so.apiVersion,
      kind: so.kind,
      metadata: so.metadata,
      spec: so.spec,
    });
    let c: Checked;
    if (!v.ok) c = { ok: false, message: v.errors.map((e) => `${e.path}: ${e.message}`).join("; ") };
    else {
      const spec = scalingSpecFor(v.resolved.spec);
      c = spec.ok ? { ok: true, resolved: v.resolved, spec: spec.spec } : { ok: false, message: spec.error };
    }
    this.checks.set(so, c);
    return c;
  }
}

/** Everything of `so` its evaluation needs before the Kafka reads, or why it cannot be evaluated. */
export async function prepareEvaluation(
  deps: PrepareDeps,
  checks: ScaledObjectChecks,
  so: ScaledObject,
  due: DueKey,
): Promise<Prepared> {
  const failed = (
    message: string,
    reason: "ScaledObjectCheckFailed" | "ErrorGettingCurrentReplicas" = "ScaledObjectCheckFailed",
  ): Prepared => ({ kind: "failed", so, reason, message, due });

  const v = checks.get(so);
  if (!v.ok) return failed(v.message);
  const pauseParse = parsePauseAnnotations(so.metadata.annotations);
  if (!pauseParse.ok) return failed(`${pauseParse.error.path}: ${pauseParse.error.message}`);
  const p = pauseParse.value;
  const pause: DecideInput["pause"] & { paused: boolean } = {
    paused: p.paused,
    pausedScaleIn: p.pausedScaleIn,
    pausedScaleOut: p.pausedScaleOut,
    forceActivation: p.forceActivation,
  };
  if (p.pausedReplicas !== undefined) pause.pausedReplicas = p.pausedReplicas;

  const ns = so.metadata.namespace ?? "default";
  const ref = v.resolved.spec.scaleTargetRef;
  let scale: ScaleInfo;
  try {
    scale = await deps.kube.scale.get(ns, ref);
  } catch (err) {
    if (isNotFound(err)) return failed(`Target resource doesn't exist: ${ref.kind} ${ns}/${ref.name}`);
    if (err instanceof NotScalableError) {
      return failed(`Target resource doesn't expose /scale subresource: ${err.message}`);
    }
    if (targetIsGone(err)) return failed(errorText(err));
    return failed(
      `could not read the current replicas of ${ref.kind} ${ns}/${ref.name}: ${errorText(err)}`,
      "ErrorGettingCurrentReplicas",
    );
  }

  let triggers: ParsedTrigger[] = [];
  if (!pause.paused && pause.pausedReplicas === undefined) {
    const inputs = await resolveScaledObjectInputs(
      deps.authSources,
      so,
      deps.clusterObjectNamespace ? { clusterObjectNamespace: deps.clusterObjectNamespace } : {},
    );
    const authErrors = inputs.triggers.flatMap((t) => (t.ok ? [] : t.errors));
    if (authErrors.length > 0) return failed(authErrors.join("; "));
    const auth: TriggerAuthInput[] = inputs.triggers.map((t) =>
      t.ok ? { authParams: t.input.authParams, resolvedEnv: t.input.resolvedEnv } : {},
    );
    const parsed = checks.triggers(so, v.resolved, auth);
    if (!parsed.ok) return failed(parsed.errors.join("; "));
    triggers = parsed.triggers;
  }

  // Ready pods matter only for Value targets (and their fallback): counted from the pod watch once it runs.
  let readyReplicas: number | undefined;
  if (triggers.some((t) => t.metricType === "Value")) {
    try {
      readyReplicas = await deps.kube.pods.readyCount(scale);
    } catch (err) {
      deps.log.warn({ scaledObject: due.key, err: errorText(err) }, "could not count ready pods");
    }
  }
  return {
    kind: "ready",
    so,
    resolved: v.resolved,
    spec: v.spec,
    scale,
    readyReplicas,
    pause,
    triggers,
    due,
    reads: new Map(),
  };
}
