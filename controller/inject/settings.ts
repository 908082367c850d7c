/**
 * Which ScaledObject a pod follows, and the sidecar's settings from its kafka trigger. Pure.
 *
 * The ScaledObject is the one the `lagscale.io/scaled-object` annotation names, else the one whose
 * scaleTargetRef is the pod's workload (the Deployment above its ReplicaSet, or its StatefulSet). The
 * trigger is the kafka trigger the `lagscale.io/trigger` annotation names, else the first kafka trigger.
 * bootstrapServers, consumerGroup and topic are read as KEDA reads them, from the trigger's metadata or
 * through `<name>FromEnv` from the consumer container; in the latter case the container's definition is
 * copied, so a value from a Secret stays in the Secret.
 */
import type { V1Container, V1EnvVar } from "@kubernetes/client-node";
import type { ScaleTrigger } from "../../core/crd/index.js";
import { ParamReader } from "../../core/triggers/params.js";
import { parseQuantity } from "../../core/crd/index.js";
import { SIDECAR_DEFAULT_RESOURCES, type SidecarSettings } from "./sidecar.js";
import { copyEnvVar, sourceContainer } from "./env.js";
import type { InjectTuning } from "./optin.js";

/** The fields of a ScaledObject the injector reads. */
export interface ScaledObjectView {
  name: string;
  scaleTargetRef: { apiVersion?: string; kind?: string; name: string; envSourceContainerName?: string };
  triggers: ScaleTrigger[];
}

/** The workload that runs the pod: what a ScaledObject's scaleTargetRef names. */
export interface Workload {
  apiVersion: string;
  kind: string;
  name: string;
}

export type Found<T> = { ok: true; value: T } | { ok: false; problem: string };

const group = (apiVersion: string | undefined): string => {
  const v = apiVersion || "apps/v1";
  return v.includes("/") ? v.slice(0, v.indexOf("/")) : "";
};

/** The ScaledObject to follow among those of the pod's namespace. */
export function findScaledObject(
  scaledObjects: readonly ScaledObjectView[],
  workload: Workload | undefined,
  wanted: string | undefined,
): Found<ScaledObjectView> {
  if (wanted !== undefined) {
    const so = scaledObjects.find((s) => s.name === wanted);
    return so
      ? { ok: true, value: so }
      : {
          ok: false,
          problem: `annotation lagscale.io/scaled-object names ScaledObject ${JSON.stringify(wanted)}, which does not exist in the pod's namespace`,
        };
  }
  if (!workload) {
    return {
      ok: false,
      problem:
        "the pod is not run by a Deployment or StatefulSet: name its ScaledObject with the annotation lagscale.io/scaled-object",
    };
  }
  // The same target as the validating webhook means it: name, kind and API group (the version does not count).
  const matches = scaledObjects.filter(
    (s) =>
      s.scaleTargetRef.name === workload.name &&
      (s.scaleTargetRef.kind || "Deployment") === workload.kind &&
      group(s.scaleTargetRef.apiVersion) === group(workload.apiVersion),
  );
  if (matches.length === 1) return { ok: true, value: matches[0]! };
  if (matches.length === 0) {
    return {
      ok: false,
      problem: `no ScaledObject targets ${workload.kind} ${workload.name}: create one, or name it with the annotation lagscale.io/scaled-object`,
    };
  }
  return {
    ok: false,
    problem: `ScaledObjects ${matches.map((s) => s.name).join(", ")} all target ${workload.kind} ${workload.name}: name one with the annotation lagscale.io/scaled-object`,
  };
}

/** The kafka trigger to follow and its index. */
export function pickKafkaTrigger(
  so: ScaledObjectView,
  wanted: string | undefined,
): Found<{ trigger: ScaleTrigger; index: number }> {
  const kafka = so.triggers
    .map((trigger, index) => ({ trigger, index }))
    .filter((t) => t.trigger.type === "kafka");
  if (wanted !== undefined) {
    const t = kafka.find((k) => k.trigger.name === wanted);
    return t
      ? { ok: true, value: t }
      : {
          ok: false,
          problem: `annotation lagscale.io/trigger=${JSON.stringify(wanted)}: ScaledObject ${so.name} has no kafka trigger of that name (kafka triggers: ${kafka.map((k) => k.trigger.name ?? `#${k.index} unnamed`).join(", ") || "none"})`,
        };
  }
  const first = kafka[0];
  return first
    ? { ok: true, value: first }
    : {
        ok: false,
        problem: `ScaledObject ${so.name} has no kafka trigger: the sidecar reports Kafka consumers only`,
      };
}

/** Controller-wide defaults (flags). */
export interface InjectDefaults {
  image: string;
  reportUrl: string;
  bindAddress?: string;
  /** PEM of the CA the sidecar trusts for reportUrl (a private CA's); undefined: the system roots. */
  reportCa?: string;
}

const SETTING_ENV = {
  bootstrapServers: "KAFKA_BOOTSTRAP_SERVERS",
  consumerGroup: "LAGSCALE_CONSUMER_GROUP",
  topic: "LAGSCALE_TOPIC",
} as const;

/**
 * The sidecar's settings (credentials aside, see credentials.ts). `containers` are the pod's own, where
 * `<name>FromEnv` variables are found.
 */
export function sidecarSettings(
  so: ScaledObjectView,
  trigger: ScaleTrigger,
  tuning: InjectTuning,
  defaults: InjectDefaults,
  containers: readonly V1Container[],
): { ok: true; settings: SidecarSettings } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const where = `ScaledObject ${so.name}, kafka trigger${trigger.name ? ` ${trigger.name}` : ""}`;
  const meta = trigger.metadata;
  const env: V1EnvVar[] = [];
  const literal: Partial<Record<keyof typeof SETTING_ENV, string>> = {};
  for (const [param, envName] of Object.entries(SETTING_ENV) as [keyof typeof SETTING_ENV, string][]) {
    const value = meta[param]?.trim();
    if (value) {
      literal[param] = value;
      continue;
    }
    const fromEnv = meta[`${param}FromEnv`]?.trim();
    if (!fromEnv) {
      if (param !== "topic")
        problems.push(`${where}: ${param} is not set (metadata ${param} or ${param}FromEnv)`);
      continue;
    }
    const c = sourceContainer(containers, so.scaleTargetRef.envSourceContainerName);
    const copied = c.ok
      ? copyEnvVar(c.container, fromEnv, envName)
      : { ok: false as const, problem: c.problem };
    if (copied.ok) env.push(copied.env);
    else problems.push(`${where}: ${param}FromEnv: ${copied.problem}`);
  }
  // ParamReader: KEDA's parsing of the two numbers' and enums' spellings, shared with the trigger parser.
  const r = new ParamReader({ metadata: meta });
  const lagThreshold = r.int("lagThreshold", ["triggerMetadata"], 10);
  const offsetResetPolicy = r.enumValue(
    "offsetResetPolicy",
    ["triggerMetadata"],
    ["latest", "earliest"] as const,
    "latest",
  );
  for (const e of r.errors) problems.push(`${where}: ${e.message}`);
  if (lagThreshold !== undefined && lagThreshold <= 0)
    problems.push(`${where}: lagThreshold must be above 0`);
  if (problems.length > 0 || lagThreshold === undefined) return { ok: false, problems };

  const settings: SidecarSettings = {
    image: tuning.image ?? defaults.image,
    scaledObject: so.name,
    // Empty when copied from the consumer's env: the copied variable replaces the generated one.
    bootstrapServers: literal.bootstrapServers ?? "",
    consumerGroup: literal.consumerGroup ?? "",
    lagThreshold,
    offsetResetPolicy: offsetResetPolicy ?? "latest",
    reportUrl: defaults.reportUrl,
    ...(literal.topic !== undefined ? { topic: literal.topic } : {}),
    ...(defaults.bindAddress !== undefined ? { bindAddress: defaults.bindAddress } : {}),
  };
  if (tuning.resources) {
    const merged = mergedResources(tuning.resources);
    if (!merged.ok) return { ok: false, problems: [merged.problem] };
    settings.resources = merged.value;
  }
  if (defaults.reportCa !== undefined) env.push({ name: "LAGSCALE_REPORT_CA", value: defaults.reportCa });
  if (env.length > 0) settings.env = env;
  return { ok: true, settings };
}

/**
 * The sidecar's default requests and limits with the annotations' values over them; a request the merge
 * puts above its limit would make the API server refuse the pod, so it is a problem here instead.
 */
export function mergedResources(
  r: NonNullable<InjectTuning["resources"]>,
): Found<NonNullable<SidecarSettings["resources"]>> {
  const requests: Record<string, string> = { ...SIDECAR_DEFAULT_RESOURCES.requests, ...r.requests };
  const limits: Record<string, string> = { ...SIDECAR_DEFAULT_RESOURCES.limits, ...r.limits };
  for (const resource of ["cpu", "memory"] as const) {
    const req = requests[resource];
    const lim = limits[resource];
    if (req === undefined || lim === undefined) continue;
    const a = parseQuantity(req);
    const b = parseQuantity(lim);
    if (a.ok && b.ok && a.value > b.value) {
      const given = r.requests?.[resource] !== undefined ? "request" : "limit";
      return {
        ok: false,
        problem: `the sidecar's ${resource} request ${req} would be above its ${resource} limit ${lim} (the ${given} is the annotation's, the other the default): set lagscale.io/sidecar-${resource}-${given === "request" ? "limit" : "request"} too`,
      };
    }
  }
  return { ok: true, value: { requests, limits } };
}
