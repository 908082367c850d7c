/**
 * From a validated ScaledObject (core/crd, KEDA's defaults applied) to what the decision reads
 * (core/scaling's ScalingSpec), and to the parsed triggers (core/triggers) with the parameters their
 * TriggerAuthentication and the target's environment supply.
 */
import {
  checkTolerances,
  type ResolvedScaledObjectSpec,
  type ResolvedScaledObjectTrigger,
} from "../../core/crd/index.js";
import { lagRequestFromTrigger } from "../../core/kafka/from-trigger.js";
import type { LagRequest } from "../../core/kafka/types.js";
import type { ScalingSpec } from "../../core/scaling/index.js";
import {
  cronMetricName,
  kafkaMetricName,
  kafkaUnsupportedReason,
  parseCronTrigger,
  parseKafkaTrigger,
  type CronTriggerMetadata,
  type KafkaTriggerMetadata,
} from "../../core/triggers/index.js";

export type SpecResult = { ok: true; spec: ScalingSpec } | { ok: false; error: string };

/** ScalingSpec from a resolved spec; what lagscale cannot do yet (scalingModifiers) is an error that says so. */
export function scalingSpecFor(spec: ResolvedScaledObjectSpec): SpecResult {
  if (spec.advanced?.scalingModifiers) {
    return {
      ok: false,
      error:
        "spec.advanced.scalingModifiers is not supported by lagscale yet: remove it and let each trigger scale on its own",
    };
  }
  // The decision reads tolerances as numbers; one that is not a valid quantity makes the object invalid
  // here rather than a throw at every evaluation (the webhook may not have run).
  const tolerance = checkTolerances(spec);
  if (tolerance.length > 0) {
    return { ok: false, error: tolerance.map((e) => `${e.path}: ${e.message}`).join("; ") };
  }
  const out: ScalingSpec = {
    minReplicaCount: spec.minReplicaCount,
    maxReplicaCount: spec.maxReplicaCount,
    cooldownPeriod: spec.cooldownPeriod,
    initialCooldownPeriod: spec.initialCooldownPeriod,
    pollingInterval: spec.pollingInterval,
  };
  if (spec.idleReplicaCount !== undefined) out.idleReplicaCount = spec.idleReplicaCount;
  if (spec.fallback) {
    const behavior = spec.fallback.behavior;
    if (behavior === "scalingModifiers") {
      return {
        ok: false,
        error:
          "spec.fallback.behavior scalingModifiers needs spec.advanced.scalingModifiers, which lagscale does not support yet",
      };
    }
    out.fallback = {
      failureThreshold: spec.fallback.failureThreshold,
      replicas: spec.fallback.replicas,
      behavior,
    };
  }
  const adv = spec.advanced;
  if (adv) {
    const advanced: NonNullable<ScalingSpec["advanced"]> = {};
    if (adv.restoreToOriginalReplicaCount !== undefined) {
      advanced.restoreToOriginalReplicaCount = adv.restoreToOriginalReplicaCount;
    }
    if (adv.horizontalPodAutoscalerConfig)
      advanced.horizontalPodAutoscalerConfig = adv.horizontalPodAutoscalerConfig;
    out.advanced = advanced;
  }
  return { ok: true, spec: out };
}

/** What the TriggerAuthentication and the target's container environment give one trigger. */
export interface TriggerAuthInput {
  authParams?: Readonly<Record<string, string>>;
  resolvedEnv?: Readonly<Record<string, string>>;
  podIdentity?: { provider: string; roleArn?: string };
}

interface ParsedBase {
  index: number;
  /** KEDA's metric name (`s0-kafka-orders`): the key of status.health and the `metric` label. */
  metricName: string;
  /** The `scaler` label: the trigger's name, else KEDA's scaler type name. */
  scaler: string;
  metricType: "AverageValue" | "Value";
  warnings: string[];
}

export interface ParsedKafkaTrigger extends ParsedBase {
  kind: "kafka";
  meta: KafkaTriggerMetadata;
  /** The reader request; absent when lagscale's client cannot connect with these settings (`connectError`). */
  request?: LagRequest;
  connectError?: string;
}

export interface ParsedCronTrigger extends ParsedBase {
  kind: "cron";
  meta: CronTriggerMetadata;
}

export type ParsedTrigger = ParsedKafkaTrigger | ParsedCronTrigger;

export type TriggersResult = { ok: true; triggers: ParsedTrigger[] } | { ok: false; errors: string[] };

/**
 * Parses every trigger. Problems of all triggers are reported together, each naming its trigger
 * (`spec.triggers[0] (kafka): ...`). A trigger lagscale can parse but not connect with (gssapi, MSK IAM
 * with a role to assume) is not an error here: its reads fail with the reason, which counts toward the fallback.
 */
export function parseTriggers(
  triggers: readonly ResolvedScaledObjectTrigger[],
  auth: readonly TriggerAuthInput[],
): TriggersResult {
  const out: ParsedTrigger[] = [];
  const errors: string[] = [];
  triggers.forEach((t, index) => {
    const where = `spec.triggers[${index}] (${t.type}${t.name ? ` ${t.name}` : ""})`;
    const a = auth[index] ?? {};
    const input = {
      metadata: t.metadata ?? {},
      ...(a.resolvedEnv ? { resolvedEnv: a.resolvedEnv } : {}),
      ...(a.authParams ? { authParams: a.authParams } : {}),
    };
    if (t.type === "kafka") {
      const r = parseKafkaTrigger(a.podIdentity ? { ...input, podIdentity: a.podIdentity } : input);
      if (!r.ok) {
        errors.push(...r.errors.map((e) => `${where}: ${e.message}`));
        return;
      }
      const parsed: ParsedKafkaTrigger = {
        kind: "kafka",
        index,
        metricName: kafkaMetricName(r.value, index),
        scaler: t.name || "kafkaScaler",
        metricType: t.metricType,
        warnings: r.warnings,
        meta: r.value,
      };
      const unsupported = kafkaUnsupportedReason(r.value);
      const req = unsupported ? undefined : lagRequestFromTrigger(r.value);
      if (unsupported) parsed.connectError = unsupported;
      else if (req && !req.ok) parsed.connectError = req.error;
      else if (req && req.ok) parsed.request = req.request;
      out.push(parsed);
    } else if (t.type === "cron") {
      const r = parseCronTrigger(input);
      if (!r.ok) {
        errors.push(...r.errors.map((e) => `${where}: ${e.message}`));
        return;
      }
      out.push({
        kind: "cron",
        index,
        metricName: cronMetricName(r.value, index),
        scaler: t.name || "cronScaler",
        metricType: t.metricType,
        warnings: r.warnings,
        meta: r.value,
      });
    } else {
      errors.push(
        `${where}: trigger type ${JSON.stringify(t.type)} is not supported by lagscale (kafka and cron are)`,
      );
    }
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, triggers: out };
}
