/**
 * Runtime validation of lagscale objects against the same TypeBox schemas the CRDs are generated from,
 * plus the rules the API server (CEL) and KEDA's admission webhook add. Every error has a path
 * (`spec.triggers[0].type`) and a message a person can act on; all errors are returned together.
 * A valid object comes back with KEDA's defaults applied (`resolved`).
 */
import { FormatRegistry, type TSchema } from "@sinclair/typebox";
import { Value, ValueErrorType, type ValueError } from "@sinclair/typebox/value";
import { checkFallbackValid, checkReplicaCountBounds } from "./bounds.js";
import { GROUP_VERSION, INT32_MAX } from "./kit.js";
import { parseTolerance } from "./quantity.js";
import {
  ClusterTriggerAuthenticationSchema,
  TriggerAuthenticationSchema,
  type ClusterTriggerAuthentication,
  type TriggerAuthentication,
} from "./triggerauthentication.js";
import { ScaledJobSchema, type ScaledJob } from "./scaledjob.js";
import { ScaledObjectSchema, type ScaledObject } from "./scaledobject.js";
import type { HpaBehavior, ScaleTrigger } from "./common.js";

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
if (!FormatRegistry.Has("date-time")) FormatRegistry.Set("date-time", (v) => RFC3339.test(v));
for (const f of ["int32", "int64"]) if (!FormatRegistry.Has(f)) FormatRegistry.Set(f, () => true);

export interface FieldError {
  /** Where, e.g. `spec.triggers[0].metadata`. */
  path: string;
  message: string;
}

export type Validation<T, R> = { ok: true; value: T; resolved: R } | { ok: false; errors: FieldError[] };

/** JSON pointer (`/spec/triggers/0/type`) to a readable path (`spec.triggers[0].type`). */
export function pointerToPath(pointer: string): string {
  if (pointer === "") return "(root)";
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Longest shown part of a wrong value in a message, so a huge one cannot bloat the refusal or the status. */
const MAX_SHOWN = 64;

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v) ?? String(v);
  return s.length <= MAX_SHOWN ? s : `${s.slice(0, MAX_SHOWN)}... (${s.length} characters)`;
}

function messageFor(e: ValueError): string {
  const s = e.schema as Record<string, unknown>;
  const got = `got ${show(e.value)}`;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return "is required";
    case ValueErrorType.ObjectAdditionalProperties:
      return "is not a known field here (check its spelling and indentation)";
    case ValueErrorType.Union: {
      const values = Array.isArray(s["anyOf"])
        ? (s["anyOf"] as { const?: unknown }[]).map((x) => x.const)
        : [];
      if (s["x-kubernetes-int-or-string"] === true) return `must be an integer or a string, ${got}`;
      return `must be one of [${values.join(" ")}] (case-sensitive), ${got}`;
    }
    case ValueErrorType.Literal:
      return typeof s["const"] === "string" && s["const"] === GROUP_VERSION
        ? `must be ${GROUP_VERSION}, ${got} (a KEDA manifest works after changing keda.sh/v1alpha1 to ${GROUP_VERSION})`
        : `must be ${show(s["const"])}, ${got}`;
    case ValueErrorType.Integer:
      return `must be an integer, ${got}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be >= ${String(s["minimum"])}, ${got}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return s["maximum"] === INT32_MAX
        ? `must be <= ${INT32_MAX} (a Kubernetes int32), ${got}`
        : `must be <= ${String(s["maximum"])}, ${got}`;
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMinimum:
      return `must be > ${String(s["exclusiveMinimum"])}, ${got}`;
    case ValueErrorType.String:
      return `must be a string, ${got}${typeof e.value === "number" || typeof e.value === "boolean" ? " (quote it in YAML)" : ""}`;
    case ValueErrorType.StringMinLength:
      return `must not be empty`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(s["maxLength"])} characters, got ${typeof e.value === "string" ? e.value.length : "more"}`;
    case ValueErrorType.StringFormat:
      return `must be a ${String(s["format"])} value, ${got}`;
    case ValueErrorType.StringPattern:
      return `must match ${String(s["pattern"])}, ${got}`;
    case ValueErrorType.Boolean:
      return `must be true or false, ${got}`;
    case ValueErrorType.Object:
      return `must be an object, ${got}`;
    case ValueErrorType.Array:
      return `must be a list, ${got}`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(s["minItems"])} item(s)`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(s["maxItems"])} items, got ${Array.isArray(e.value) ? e.value.length : "more"}`;
    default:
      return `${e.message}, ${got}`;
  }
}

/**
 * Deepest nesting accepted anywhere in an object. A pod template is about 10 levels deep; the cap
 * stops a document nested thousands of levels deep (in a field kept as given, such as a ScaledJob's
 * jobTargetRef) before a recursive walk (schema check, defaults, comparison) overflows the stack.
 */
export const MAX_NESTING_DEPTH = 100;

/** The first place nested deeper than `max`, found without recursion; undefined when within. */
export function nestingDepthError(value: unknown, max = MAX_NESTING_DEPTH): FieldError | undefined {
  const stack: [unknown, number, string][] = [[value, 0, ""]];
  while (stack.length > 0) {
    const [node, depth, pointer] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= max) {
      return {
        path: pointerToPath(pointer),
        message: `is nested more than ${max} levels deep; lagscale refuses deeper objects (a Kubernetes object needs far fewer)`,
      };
    }
    const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
    // Only the first levels' names go into the path, so a wide object does not build long strings.
    for (const [k, v] of entries) stack.push([v, depth + 1, depth < 8 ? `${pointer}/${k}` : pointer]);
  }
  return undefined;
}

/** Schema errors, one per path (the first, which is the most specific TypeBox reports). */
export function schemaErrors(schema: TSchema, value: unknown): FieldError[] {
  const deep = nestingDepthError(value);
  if (deep) return [deep];
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of Value.Errors(schema, value)) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    out.push({ path: pointerToPath(e.path), message: messageFor(e) });
  }
  return out;
}

/** Applies the schema's `default`s to a copy (missing optional fields only). */
export function withDefaults<T>(schema: TSchema, value: T): T {
  return Value.Default(schema, Value.Clone(value)) as T;
}

/** KEDA's CEL rule on ScaledObject.spec (minReplicaCount <= maxReplicaCount, max defaulting to 100). */
export function celMinLeMax(spec: {
  minReplicaCount?: number;
  maxReplicaCount?: number;
}): FieldError | undefined {
  if (spec.minReplicaCount === undefined) return undefined;
  if (spec.minReplicaCount <= (spec.maxReplicaCount ?? 100)) return undefined;
  return {
    path: "spec.minReplicaCount",
    message: "minReplicaCount must be less than or equal to maxReplicaCount",
  };
}

/** KEDA's ValidateTriggers: unique non-empty names, no useCachedMetrics on cpu, memory or cron. */
export function checkTriggers(triggers: readonly ScaleTrigger[]): FieldError[] {
  const out: FieldError[] = [];
  const names = new Map<string, number>();
  triggers.forEach((t, i) => {
    if (t.useCachedMetrics && ["cpu", "memory", "cron"].includes(t.type)) {
      out.push({
        path: `spec.triggers[${i}].useCachedMetrics`,
        message: `property "useCachedMetrics" is not supported for ${JSON.stringify(t.type)} scaler`,
      });
    }
    if (t.name) {
      const first = names.get(t.name);
      if (first !== undefined) {
        out.push({
          path: `spec.triggers[${i}].name`,
          message: `triggerName ${JSON.stringify(t.name)} is defined multiple times in the ScaledObject/ScaledJob, but it must be unique (also at spec.triggers[${first}])`,
        });
      } else names.set(t.name, i);
    }
  });
  return out;
}

/** The HPA behavior's tolerances, read as Kubernetes quantities (`50m` is 0.05), non-negative and finite. */
export function checkTolerances(spec: {
  advanced?: { horizontalPodAutoscalerConfig?: { behavior?: HpaBehavior } };
}): FieldError[] {
  const behavior = spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
  const out: FieldError[] = [];
  for (const direction of ["scaleUp", "scaleDown"] as const) {
    const t = behavior?.[direction]?.tolerance;
    if (t === undefined) continue;
    const r = parseTolerance(t);
    if (!r.ok) {
      out.push({
        path: `spec.advanced.horizontalPodAutoscalerConfig.behavior.${direction}.tolerance`,
        message: r.message,
      });
    }
  }
  return out;
}

type Defaulted<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };
type Spec<T extends { spec: unknown }> = T["spec"];
type SOSpec = Spec<ScaledObject>;
type SJSpec = Spec<ScaledJob>;

/** A trigger with its defaults: metricType AverageValue, authenticationRef.kind TriggerAuthentication. */
export type ResolvedTrigger = Omit<ScaleTrigger, "authenticationRef"> & {
  authenticationRef?: { name: string; kind: "TriggerAuthentication" | "ClusterTriggerAuthentication" };
};
/** A ScaledObject trigger additionally has its metricType resolved. */
export type ResolvedScaledObjectTrigger = Omit<ResolvedTrigger, "metricType"> & {
  metricType: "AverageValue" | "Value";
};

/** ScaledObject spec with KEDA's defaults (pollingInterval 30, cooldownPeriod 300, min 0, max 100, ...). */
export type ResolvedScaledObjectSpec = Omit<
  Defaulted<
    SOSpec,
    "pollingInterval" | "cooldownPeriod" | "initialCooldownPeriod" | "minReplicaCount" | "maxReplicaCount"
  >,
  "scaleTargetRef" | "fallback" | "triggers"
> & {
  scaleTargetRef: Defaulted<SOSpec["scaleTargetRef"], "apiVersion" | "kind">;
  fallback?: Defaulted<NonNullable<SOSpec["fallback"]>, "behavior">;
  triggers: ResolvedScaledObjectTrigger[];
};
export type ResolvedScaledObject = Omit<ScaledObject, "spec"> & { spec: ResolvedScaledObjectSpec };

/** ScaledJob spec with KEDA's defaults (pollingInterval 30, history limits 100, min 0, max 100, ...). */
export type ResolvedScaledJobSpec = Omit<
  Defaulted<
    SJSpec,
    | "pollingInterval"
    | "successfulJobsHistoryLimit"
    | "failedJobsHistoryLimit"
    | "minReplicaCount"
    | "maxReplicaCount"
  >,
  "triggers"
> & { triggers: ResolvedTrigger[] };
export type ResolvedScaledJob = Omit<ScaledJob, "spec"> & { spec: ResolvedScaledJobSpec };

/**
 * Validates a ScaledObject: the schema, KEDA's CEL rule, the replica bounds (§2.2), fallback (§2.9.1),
 * the trigger checks (unique names, useCachedMetrics) and the trigger metricType. Replica bounds are
 * checked on the object as given, before defaults, because KEDA treats an unset minReplicaCount
 * differently from an explicit 0.
 */
export function validateScaledObject(input: unknown): Validation<ScaledObject, ResolvedScaledObject> {
  const errors = schemaErrors(ScaledObjectSchema, input);
  if (errors.length > 0) return { ok: false, errors };
  const so = input as ScaledObject;
  const more: FieldError[] = [];
  const cel = celMinLeMax(so.spec);
  if (cel) more.push(cel);
  const bounds = checkReplicaCountBounds(so.spec);
  if (bounds && !cel) more.push(bounds);
  const fallback = checkFallbackValid(so.spec);
  if (fallback) more.push(fallback);
  more.push(...checkTriggers(so.spec.triggers));
  more.push(...checkTolerances(so.spec));
  so.spec.triggers.forEach((t, i) => {
    if (
      t.metricType !== undefined &&
      t.metricType !== "" &&
      t.metricType !== "AverageValue" &&
      t.metricType !== "Value"
    ) {
      more.push({
        path: `spec.triggers[${i}].metricType`,
        message:
          t.metricType === "Utilization"
            ? "'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"
            : `must be one of [AverageValue Value], got ${JSON.stringify(t.metricType)}`,
      });
    }
  });
  if (more.length > 0) return { ok: false, errors: more };
  const resolved = withDefaults(ScaledObjectSchema, so) as ResolvedScaledObject;
  for (const t of resolved.spec.triggers) if (!t.metricType) t.metricType = "AverageValue";
  return { ok: true, value: so, resolved };
}

/** Validates a ScaledJob: the schema, the trigger checks, and KEDA's "no metricType in ScaledJob triggers". */
export function validateScaledJob(input: unknown): Validation<ScaledJob, ResolvedScaledJob> {
  const errors = schemaErrors(ScaledJobSchema, input);
  if (errors.length > 0) return { ok: false, errors };
  const sj = input as ScaledJob;
  const more = checkTriggers(sj.spec.triggers);
  sj.spec.triggers.forEach((t, i) => {
    if (t.metricType !== undefined && t.metricType !== "") {
      more.push({
        path: `spec.triggers[${i}].metricType`,
        message: "Cannot set metricType in ScaledJob triggers",
      });
    }
  });
  if (more.length > 0) return { ok: false, errors: more };
  return { ok: true, value: sj, resolved: withDefaults(ScaledJobSchema, sj) as ResolvedScaledJob };
}

export function validateTriggerAuthentication(
  input: unknown,
): Validation<TriggerAuthentication, TriggerAuthentication> {
  const errors = schemaErrors(TriggerAuthenticationSchema, input);
  if (errors.length > 0) return { ok: false, errors };
  const ta = input as TriggerAuthentication;
  return { ok: true, value: ta, resolved: ta };
}

export function validateClusterTriggerAuthentication(
  input: unknown,
): Validation<ClusterTriggerAuthentication, ClusterTriggerAuthentication> {
  const errors = schemaErrors(ClusterTriggerAuthenticationSchema, input);
  if (errors.length > 0) return { ok: false, errors };
  const cta = input as ClusterTriggerAuthentication;
  return { ok: true, value: cta, resolved: cta };
}
