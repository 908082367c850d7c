/**
 * The admission checks, as KEDA's validating webhook makes them (keda-semantics.md §4) and with KEDA's
 * messages and metric reasons where KEDA has them, plus what lagscale adds: the trigger types it runs
 * and their metadata, the pause annotations, and the scale target's existence.
 *
 * ScaledObject: schema; replica bounds (W4, `incorrect-replicas`); fallback (W5, `incorrect-fallback`);
 * name length (W6, `name-too-long`); triggers (W7, `incorrect-triggers`: at least one, unique names,
 * known types, metadata that parses); scaling modifiers (W10, `scaling-modifiers`); another ScaledObject
 * on the same target (W1, `other-scaled-object`); an HPA on the target (W3, `other-hpa`); the target's
 * existence (`target-not-found`, `unknown-target-kind`; skipped on dry run). All problems are reported at
 * once. KEDA's HPA-name checks (W2, W6's second half) do not apply: lagscale creates no HPA.
 *
 * Values a trigger reads from the target's environment (`<name>FromEnv`) or its TriggerAuthentication
 * cannot be checked here (they may hold secrets, and the objects may not exist yet): a problem with such
 * a parameter is not reported when its value can come from there; the controller reports it.
 */
import {
  isUsingScalingModifiers,
  KEDA_ANNOTATION_PREFIX,
  LAGSCALE_ANNOTATION_PREFIX,
  nestingDepthError,
  parsePauseAnnotations,
  schemaErrors,
  unsupportedAuthSources,
  validateClusterTriggerAuthentication,
  validateScaledJob,
  validateScaledObject,
  validateTriggerAuthentication,
  ScaledJobSchema,
  ScaledObjectSchema,
  type FieldError,
  type ScaledObject,
  type ScaleTrigger,
} from "../../core/crd/index.js";
import { errorLine } from "../../core/errors.js";
import { parseCronTrigger, parseKafkaTrigger, type ParseResult } from "../../core/triggers/index.js";
import type { AdmissionRequest, Verdict } from "./admission.js";
import type { TargetReference, WebhookLookups } from "./lookups.js";
import type { WebhookMetrics } from "./metrics.js";

/** The trigger types lagscale runs. */
export const SUPPORTED_TRIGGER_TYPES = ["kafka", "cron"] as const;

/** Longest ScaledObject name (a Kubernetes label value, as in KEDA). */
export const MAX_NAME_LENGTH = 63;

/** HPA annotations that exclude an HPA from the conflict check (KEDA's and lagscale's spelling). */
export const HPA_OWNERSHIP_ANNOTATIONS = ["validations.keda.sh/hpa-ownership", "lagscale.io/hpa-ownership"];

/** One reason to refuse: KEDA's metric reason label and a message naming the field. */
export interface Problem {
  reason: string;
  message: string;
}

export interface Outcome {
  /** Problems found; empty means allowed. */
  problems: Problem[];
  warnings: string[];
  /** True when the request was allowed without checks (an update that keeps the spec). */
  skipped: boolean;
}

/** The verdict for an outcome: refused with every problem in one message, or allowed with warnings. */
export function verdictOf(outcome: Outcome): Verdict {
  const v: Verdict =
    outcome.problems.length === 0
      ? { allowed: true }
      : { allowed: false, code: 403, message: outcome.problems.map((p) => p.message).join("; ") };
  if (outcome.warnings.length > 0) v.warnings = outcome.warnings;
  return v;
}

/** JSON with sorted keys, so two specs compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * An UPDATE that changes only metadata (finalizers, labels, ...) or status, keeping the spec. An object
 * nested too deep for the comparison never counts as one, so the full checks refuse it with a message.
 */
export function keepsSpec(req: AdmissionRequest): boolean {
  if (req.operation !== "UPDATE" || req.oldObject === undefined) return false;
  if (nestingDepthError(req.object) || nestingDepthError(req.oldObject)) return false;
  const spec = (o: unknown) => (o as { spec?: unknown } | undefined)?.spec;
  return canonical(spec(req.object)) === canonical(spec(req.oldObject));
}

/** The annotations lagscale reads (its own prefix and KEDA's), sorted, as one string to compare. */
function readAnnotations(o: unknown): { map: Record<string, string>; key: string } {
  const a = (o as { metadata?: { annotations?: unknown } } | undefined)?.metadata?.annotations;
  const map: Record<string, string> = {};
  if (typeof a === "object" && a !== null && !Array.isArray(a)) {
    for (const [k, v] of Object.entries(a)) {
      if (typeof v !== "string") continue;
      if (k.startsWith(LAGSCALE_ANNOTATION_PREFIX) || k.startsWith(KEDA_ANNOTATION_PREFIX)) map[k] = v;
    }
  }
  const key = JSON.stringify(Object.entries(map).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return { map, key };
}

/**
 * A spec-keeping UPDATE still has its annotations checked when it changes one lagscale reads (pausing
 * is such an update: `paused-replicas: banana` is refused on update as on create). Unchanged ones are
 * not judged again, so removing a finalizer from an object admitted earlier always goes through.
 */
function metadataOnlyOutcome(req: AdmissionRequest, kind: "ScaledObject" | "ScaledJob"): Outcome {
  const now = readAnnotations(req.object);
  if (now.key === readAnnotations(req.oldObject).key) return { problems: [], warnings: [], skipped: true };
  const pause = parsePauseAnnotations(now.map, kind);
  const problems = pause.ok
    ? []
    : [{ reason: "invalid-annotations", message: `metadata.annotations: ${pause.error.message}` }];
  return { problems, warnings: [], skipped: false };
}

const at = (e: FieldError) => `${e.path}: ${e.message}`;

/** Kafka parameters that may come from the target's environment through `<name>FromEnv`. */
const KAFKA_ENV_PARAMETERS = new Set([
  "bootstrapServers",
  "consumerGroup",
  "topic",
  "awsAccessKeyID",
  "awsSecretAccessKey",
]);
/** Kafka parameters that may come from the TriggerAuthentication (see core/triggers/kafka.ts). */
const KAFKA_AUTH_PARAMETERS = new Set([
  "tls",
  "ca",
  "cert",
  "key",
  "keyPassword",
  "sasl",
  "saslTokenProvider",
  "username",
  "password",
  "scopes",
  "oauthTokenEndpointUri",
  "oauthExtensions",
  "keytab",
  "realm",
  "kerberosConfig",
  "kerberosServiceName",
  "kerberosDisableFAST",
  "awsRoleArn",
  "awsAccessKeyID",
  "awsSecretAccessKey",
  "awsSessionToken",
]);

const blank = (v: string | undefined) => v === undefined || v.trim() === "";

/**
 * A trigger's type and metadata, checked without the values only the cluster has. Returns the problems
 * (each naming `spec.triggers[i]...`) and the parser's warnings.
 */
export function checkTriggerMetadata(
  trigger: ScaleTrigger,
  index: number,
): { problems: string[]; warnings: string[] } {
  const path = `spec.triggers[${index}]`;
  if (!(SUPPORTED_TRIGGER_TYPES as readonly string[]).includes(trigger.type)) {
    return {
      problems: [
        `${path}.type: trigger type ${JSON.stringify(trigger.type)} is not supported by lagscale; supported types: ${SUPPORTED_TRIGGER_TYPES.join(", ")}`,
      ],
      warnings: [],
    };
  }
  const metadata = trigger.metadata;
  let parsed: ParseResult<unknown>;
  let excused = (_parameter: string) => false;
  if (trigger.type === "kafka") {
    parsed = parseKafkaTrigger({ metadata });
    const hasAuth = trigger.authenticationRef !== undefined;
    excused = (p) =>
      blank(metadata[p]) &&
      ((hasAuth && KAFKA_AUTH_PARAMETERS.has(p)) ||
        (KAFKA_ENV_PARAMETERS.has(p) && !blank(metadata[`${p}FromEnv`])));
  } else {
    parsed = parseCronTrigger({ metadata });
  }
  const problems = parsed.ok
    ? []
    : parsed.errors
        .filter((e) => !excused(e.parameter))
        .map((e) => `${path}.metadata.${e.parameter}: ${e.message}`);
  return { problems, warnings: parsed.warnings.map((w) => `${path}.metadata: ${w}`) };
}

/** The trigger-list checks shared by ScaledObject and ScaledJob, beyond core/crd's (which run first). */
function triggerProblems(triggers: readonly ScaleTrigger[]): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (triggers.length === 0) {
    problems.push(
      `spec.triggers: at least one trigger is required (${SUPPORTED_TRIGGER_TYPES.join(" or ")})`,
    );
  }
  triggers.forEach((t, i) => {
    const r = checkTriggerMetadata(t, i);
    problems.push(...r.problems);
    warnings.push(...r.warnings);
  });
  return { problems, warnings };
}

/** Schema errors, except an empty trigger list, which the trigger checks report in their words. */
function schemaProblems(schema: typeof ScaledObjectSchema | typeof ScaledJobSchema, obj: unknown): string[] {
  const triggers = (obj as { spec?: { triggers?: unknown } } | undefined)?.spec?.triggers;
  const emptyTriggers = Array.isArray(triggers) && triggers.length === 0;
  return schemaErrors(schema, obj)
    .filter((e) => !(emptyTriggers && e.path === "spec.triggers"))
    .map(at);
}

/** Which KEDA reason a core/crd error belongs to, by its path. */
function reasonOf(e: FieldError): string {
  if (/^spec\.(minReplicaCount|maxReplicaCount|idleReplicaCount)\b/.test(e.path)) return "incorrect-replicas";
  if (/^spec\.(fallback|advanced\.scalingModifiers)\b/.test(e.path)) return "incorrect-fallback";
  if (e.path.startsWith("spec.triggers")) return "incorrect-triggers";
  return "invalid-spec";
}

const DEFAULT_TARGET = { apiVersion: "apps/v1", kind: "Deployment" };
const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0]! : "");

function withDefaults(ref: TargetReference): { apiVersion: string; kind: string; name: string } {
  return {
    apiVersion: ref.apiVersion || DEFAULT_TARGET.apiVersion,
    kind: ref.kind || DEFAULT_TARGET.kind,
    name: ref.name,
  };
}

/** Same workload: name, kind and API group (the version may differ). */
export function sameTarget(a: TargetReference, b: TargetReference): boolean {
  const x = withDefaults(a);
  const y = withDefaults(b);
  return x.name === y.name && x.kind === y.kind && groupOf(x.apiVersion) === groupOf(y.apiVersion);
}

/** KEDA's W10 structure checks (a formula, and a target when there is one). */
function scalingModifierProblems(spec: ScaledObject["spec"]): string[] {
  if (!isUsingScalingModifiers(spec)) return [];
  const m = spec.advanced?.scalingModifiers ?? {};
  const path = "spec.advanced.scalingModifiers";
  if (!m.formula) return [`${path}.formula: error ScalingModifiers.Formula is mandatory`];
  if (!m.target) return [`${path}.target: formula is given but target is empty`];
  // With a fallback, core/crd's fallback check has already judged the target.
  if (spec.fallback) return [];
  const n = Number(m.target);
  if (m.target.trim() === "" || !Number.isFinite(n) || n <= 0) {
    return [
      `${path}.target: error converting target for scalingModifiers to a number greater than 0: ${JSON.stringify(m.target)}`,
    ];
  }
  return [];
}

/** KEDA's warning: cooldownPeriod matters only when scaling to zero or to idle replicas. */
function cooldownWarning(spec: ScaledObject["spec"]): string[] {
  const min = spec.minReplicaCount;
  if (
    spec.cooldownPeriod !== undefined &&
    min !== undefined &&
    min > 0 &&
    spec.idleReplicaCount === undefined
  ) {
    return [
      "CooldownPeriod is configured but is not relevant. CooldownPeriod is only relevant when minReplicaCount = 0 or idleReplicaCount = 0",
    ];
  }
  return [];
}

export interface ScaledObjectCheckContext {
  lookups: WebhookLookups;
  metrics?: WebhookMetrics;
}

/** Validates a ScaledObject CREATE or UPDATE. Never throws: a failed lookup becomes a warning. */
export async function checkScaledObject(
  req: AdmissionRequest,
  ctx: ScaledObjectCheckContext,
): Promise<Outcome> {
  if (keepsSpec(req)) return metadataOnlyOutcome(req, "ScaledObject");
  const obj = req.object as ScaledObject;
  const namespace = obj.metadata?.namespace || req.namespace || "";
  const action = (req.operation ?? "").toLowerCase();
  ctx.metrics?.validations.inc({ namespace, action });
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const add = (reason: string, message: string) => problems.push({ reason, message });

  const schema = schemaProblems(ScaledObjectSchema, obj);
  if (schema.length > 0) {
    for (const m of schema) add("invalid-spec", m);
  } else {
    const core = validateScaledObject(obj);
    if (!core.ok) {
      // An empty trigger list is reported by triggerProblems below.
      for (const e of core.errors) if (e.path !== "spec.triggers") add(reasonOf(e), at(e));
    }
    const name = obj.metadata.name ?? req.name ?? "";
    if (name.length > MAX_NAME_LENGTH) {
      add(
        "name-too-long",
        `metadata.name: scaledobject name ${JSON.stringify(name)} is ${name.length} characters long; must be no more than ${MAX_NAME_LENGTH} characters because it is used as a label value`,
      );
    }
    const t = triggerProblems(obj.spec.triggers);
    for (const m of t.problems) add("incorrect-triggers", m);
    warnings.push(...t.warnings);
    for (const m of scalingModifierProblems(obj.spec)) add("scaling-modifiers", m);
    const pause = parsePauseAnnotations(obj.metadata.annotations);
    if (!pause.ok) add("invalid-annotations", `metadata.annotations: ${pause.error.message}`);
    warnings.push(...cooldownWarning(obj.spec));

    const target = withDefaults(obj.spec.scaleTargetRef);
    const gvk = `${target.apiVersion}.${target.kind}`;
    const lookup = async (what: string, f: () => Promise<void>) => {
      try {
        await f();
      } catch (err) {
        warnings.push(`lagscale could not check ${what}: ${errorLine(err)}`);
      }
    };
    await Promise.all([
      lookup("for other ScaledObjects on the same target", async () => {
        for (const other of await ctx.lookups.listScaledObjects(namespace)) {
          if (other.name === name || !sameTarget(other.scaleTargetRef, target)) continue;
          add(
            "other-scaled-object",
            `the workload '${target.name}' of type '${gvk}' is already managed by the ScaledObject '${other.name}'`,
          );
        }
      }),
      lookup("for an HPA on the same target", async () => {
        for (const hpa of await ctx.lookups.listHorizontalPodAutoscalers(namespace)) {
          if (HPA_OWNERSHIP_ANNOTATIONS.some((a) => hpa.annotations[a] === "false")) continue;
          if (!sameTarget(hpa.scaleTargetRef, target)) continue;
          const ownedByThis = hpa.ownerReferences.some(
            (o) =>
              o.kind === "ScaledObject" && o.name === name && groupOf(o.apiVersion ?? "") === "lagscale.io",
          );
          if (ownedByThis) continue;
          add(
            "other-hpa",
            `the workload '${target.name}' of type '${gvk}' is already managed by the hpa '${hpa.name}' (lagscale scales the target itself: delete the HPA, or annotate it lagscale.io/hpa-ownership: "false" if it must stay)`,
          );
        }
      }),
      req.dryRun
        ? Promise.resolve()
        : lookup("that the scale target exists", async () => {
            const found = await ctx.lookups.findTarget(namespace, target);
            if (found === "not-found") {
              add(
                "target-not-found",
                `spec.scaleTargetRef: ${target.kind} ${JSON.stringify(target.name)} (${target.apiVersion}) not found in namespace ${JSON.stringify(namespace)}; create it before the ScaledObject`,
              );
            } else if (found === "unknown-kind") {
              add(
                "unknown-target-kind",
                `spec.scaleTargetRef: the API server serves no kind ${JSON.stringify(target.kind)} in ${JSON.stringify(target.apiVersion)}`,
              );
            }
          }),
    ]);
  }
  for (const reason of new Set(problems.map((p) => p.reason))) {
    ctx.metrics?.errors.inc({ namespace, action, reason });
  }
  return { problems, warnings, skipped: false };
}

/** Validates a ScaledJob: the schema and the triggers (KEDA checks only the triggers, W7). */
export function checkScaledJob(req: AdmissionRequest): Outcome {
  if (keepsSpec(req)) return metadataOnlyOutcome(req, "ScaledJob");
  const obj = req.object as {
    spec: { triggers: ScaleTrigger[] };
    metadata?: { annotations?: Record<string, string> };
  };
  const schema = schemaProblems(ScaledJobSchema, obj);
  if (schema.length > 0) {
    return {
      problems: schema.map((message) => ({ reason: "invalid-spec", message })),
      warnings: [],
      skipped: false,
    };
  }
  const problems: Problem[] = [];
  const core = validateScaledJob(obj);
  if (!core.ok)
    for (const e of core.errors)
      if (e.path !== "spec.triggers") problems.push({ reason: reasonOf(e), message: at(e) });
  const t = triggerProblems(obj.spec.triggers);
  for (const message of t.problems) problems.push({ reason: "incorrect-triggers", message });
  const pause = parsePauseAnnotations(obj.metadata?.annotations, "ScaledJob");
  if (!pause.ok)
    problems.push({ reason: "invalid-annotations", message: `metadata.annotations: ${pause.error.message}` });
  return { problems, warnings: t.warnings, skipped: false };
}

/** Validates a TriggerAuthentication or ClusterTriggerAuthentication: schema and supported sources. */
export function checkTriggerAuthentication(
  req: AdmissionRequest,
  kind: "TriggerAuthentication" | "ClusterTriggerAuthentication",
): Outcome {
  if (keepsSpec(req)) return { problems: [], warnings: [], skipped: true };
  const v =
    kind === "TriggerAuthentication"
      ? validateTriggerAuthentication(req.object)
      : validateClusterTriggerAuthentication(req.object);
  if (!v.ok) {
    return {
      problems: v.errors.map((e) => ({ reason: "invalid-spec", message: at(e) })),
      warnings: [],
      skipped: false,
    };
  }
  const problems = unsupportedAuthSources(v.value.spec).map((u) => ({
    reason: "unsupported-auth-source",
    message: `${u.path}: ${u.message}`,
  }));
  return { problems, warnings: [], skipped: false };
}
