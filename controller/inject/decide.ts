/**
 * What the mutating webhook answers for one AdmissionReview request about a pod: inject (a JSONPatch), or
 * admit unchanged with the reason. A pod is never refused: lagscale's sidecar is optional, so every
 * problem becomes "no sidecar" plus a reason the server turns into a log line, a metric and, where a
 * person must act, an Event on the pod's owner.
 *
 * Order: requests that are not a pod CREATE, dry runs and excluded namespaces are ignored; a pod that
 * already has the sidecar or the status annotation is left alone (reinvocation, idempotency); then the
 * opt-in, the owner (pod → ReplicaSet → Deployment, or StatefulSet), the ScaledObject, its kafka trigger,
 * the credentials, and the patch. All lookups together are bounded by `lookupTimeoutMs`, below the webhook's timeout,
 * so a slow API server ends in "no sidecar" rather than in the API server's own timeout.
 */
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import type { KubeObject } from "../kube/resources.js";
import type { AdmissionRequest } from "../webhook/admission.js";
import { credentialEnv, type AuthLookup } from "./credentials.js";
import type { InjectLookups, OwnerRef } from "./lookups.js";
import { controllerOf } from "./lookups.js";
import { readOptIn } from "./optin.js";
import { alreadyInjected, injectionPatch, type JsonPatchOp } from "./patch.js";
import {
  findScaledObject,
  pickKafkaTrigger,
  sidecarSettings,
  type InjectDefaults,
  type Workload,
} from "./settings.js";
import { SIDECAR_TOKEN_VOLUME } from "./sidecar.js";
import { errorText } from "../../core/errors.js";

/** The Event reason for a pod that asked for the sidecar and did not get it. */
export const INJECTION_SKIPPED = "InjectionSkipped";

export interface InjectOptions {
  lookups: InjectLookups;
  defaults: InjectDefaults;
  /** lagscale's version, recorded in the status annotation. */
  version: string;
  /** Where ClusterTriggerAuthentications read Secrets (lagscale's namespace). */
  clusterObjectNamespace?: string;
  /** Never injected (kube-system, ..., lagscale's own), whatever the webhook configuration says. */
  excludedNamespaces: ReadonlySet<string>;
  /** Default 3000: the webhook configuration's timeout is 5 s. */
  lookupTimeoutMs?: number;
}

/** The `result` label of lagscale_webhook_injections_total. */
export type InjectResult =
  | "injected"
  | "already-injected"
  | "not-requested"
  | "disabled"
  | "ignored"
  | "invalid-annotation"
  | "skipped"
  | "lookup-failed";

export interface InjectOutcome {
  result: InjectResult;
  patch?: JsonPatchOp[];
  /** Why the pod gets no sidecar (invalid-annotation, skipped, lookup-failed). */
  problems?: string[];
  /** Where the Event goes: the pod's workload (or its direct owner when the workload is unknown). */
  owner?: KubeObject;
  scaledObject?: string;
  namespace?: string;
  /** The pod's name, or its generateName followed by `*` (a pod being created has no name yet). */
  pod?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

const isNamed = (v: unknown): boolean => isRecord(v) && typeof v["name"] === "string";

/**
 * The pod of the request, when it has the shape the patch relies on (containers with names, list fields
 * that are lists, string annotations); undefined otherwise. The API server only sends valid pods; this
 * guards the webhook against anything else.
 */
export function podOf(object: unknown): V1Pod | undefined {
  if (!isRecord(object)) return undefined;
  const meta = object["metadata"];
  const spec = object["spec"];
  if ((meta !== undefined && !isRecord(meta)) || !isRecord(spec)) return undefined;
  if (!Array.isArray(spec["containers"]) || !spec["containers"].every(isNamed)) return undefined;
  for (const f of ["initContainers", "volumes"] as const) {
    if (spec[f] !== undefined && !(Array.isArray(spec[f]) && spec[f].every(isNamed))) return undefined;
  }
  for (const f of ["labels", "annotations"] as const) {
    if (meta?.[f] !== undefined && !isRecord(meta[f])) return undefined;
  }
  const pod = object as V1Pod;
  // Labels and annotations with non-string values are read as absent.
  return {
    ...pod,
    metadata: {
      ...(meta as V1Pod["metadata"]),
      ...(meta?.["labels"] !== undefined ? { labels: stringMap(meta["labels"]) } : {}),
      ...(meta?.["annotations"] !== undefined ? { annotations: stringMap(meta["annotations"]) } : {}),
    },
  };
}

class LookupTimeout extends Error {}

/** `p`, or a LookupTimeout at `deadline` (one deadline for all of a request's lookups). */
function within<T>(p: Promise<T>, deadline: { at: number; ms: number }): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LookupTimeout(`the lookups took longer than ${deadline.ms} ms`)),
      Math.max(0, deadline.at - Date.now()),
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function ownerObject(ref: OwnerRef, namespace: string): KubeObject {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, namespace, ...(ref.uid ? { uid: ref.uid } : {}) },
  };
}

/** The pod's workload: the ReplicaSet's controller (a Deployment) if it has one, else the direct owner. */
async function workloadOf(
  lookups: InjectLookups,
  namespace: string,
  direct: OwnerRef | undefined,
): Promise<{ workload?: Workload; owner?: KubeObject }> {
  if (!direct) return {};
  if (direct.kind === "ReplicaSet" && direct.apiVersion.startsWith("apps/")) {
    const rs = await lookups.replicaSetOwner(namespace, direct.name);
    if (rs.found && rs.owner) return { workload: rs.owner, owner: ownerObject(rs.owner, namespace) };
  }
  return { workload: direct, owner: ownerObject(direct, namespace) };
}

export async function decideInjection(request: AdmissionRequest, o: InjectOptions): Promise<InjectOutcome> {
  const isPod =
    request.kind?.kind === "Pod" && (request.kind.group ?? "") === "" && (request.subResource ?? "") === "";
  if (!isPod || request.operation !== "CREATE" || request.dryRun === true) return { result: "ignored" };
  const pod = podOf(request.object);
  if (!pod) return { result: "ignored" };
  const namespace = request.namespace || pod.metadata?.namespace || "";
  const podName = pod.metadata?.name || (pod.metadata?.generateName ? `${pod.metadata.generateName}*` : "");
  const base = { namespace, pod: podName };
  if (namespace === "" || o.excludedNamespaces.has(namespace)) return { ...base, result: "ignored" };
  if (alreadyInjected(pod)) return { ...base, result: "already-injected" };

  const optIn = readOptIn(pod.metadata?.labels, pod.metadata?.annotations);
  if (optIn.kind === "not-requested" || optIn.kind === "disabled") return { ...base, result: optIn.kind };

  const timeoutMs = o.lookupTimeoutMs ?? 3000;
  const deadline = { at: Date.now() + timeoutMs, ms: timeoutMs };
  const direct = controllerOf(pod.metadata?.ownerReferences);
  let found: { workload?: Workload; owner?: KubeObject };
  try {
    found = await within(workloadOf(o.lookups, namespace, direct), deadline);
  } catch (err) {
    const owner = direct ? ownerObject(direct, namespace) : undefined;
    const problem = `could not look up the pod's owner: ${errorText(err)}`;
    if (optIn.kind === "invalid")
      return { ...base, result: "invalid-annotation", problems: optIn.problems, ...(owner ? { owner } : {}) };
    return { ...base, result: "lookup-failed", problems: [problem], ...(owner ? { owner } : {}) };
  }
  const withOwner = { ...base, ...(found.owner ? { owner: found.owner } : {}) };
  if (optIn.kind === "invalid")
    return { ...withOwner, result: "invalid-annotation", problems: optIn.problems };
  const skipped = (problems: string[], scaledObject?: string): InjectOutcome => ({
    ...withOwner,
    result: "skipped",
    problems,
    ...(scaledObject ? { scaledObject } : {}),
  });
  if ((pod.spec?.volumes ?? []).some((v) => v.name === SIDECAR_TOKEN_VOLUME)) {
    return skipped([
      `the pod already has a volume named ${SIDECAR_TOKEN_VOLUME}, the name of the sidecar's token volume`,
    ]);
  }

  const tuning = optIn.tuning;
  const containers: readonly V1Container[] = pod.spec?.containers ?? [];
  try {
    const scaledObjects = await within(o.lookups.listScaledObjects(namespace), deadline);
    const so = findScaledObject(scaledObjects, found.workload, tuning.scaledObject);
    if (!so.ok) return skipped([so.problem]);
    const picked = pickKafkaTrigger(so.value, tuning.trigger);
    if (!picked.ok) return skipped([picked.problem], so.value.name);
    const { trigger, index } = picked.value;
    const settings = sidecarSettings(so.value, trigger, tuning, o.defaults, containers);

    let auth: AuthLookup | undefined;
    const ref = trigger.authenticationRef;
    if (ref) {
      const kind = ref.kind ?? "TriggerAuthentication";
      const spec = await within(o.lookups.getTriggerAuthentication(kind, namespace, ref.name), deadline);
      auth = { kind, name: ref.name, spec };
    }
    const creds = credentialEnv({
      trigger,
      ...(auth ? { auth } : {}),
      podNamespace: namespace,
      clusterObjectNamespace: o.clusterObjectNamespace,
      containers,
    });
    const problems = [...(settings.ok ? [] : settings.problems), ...(creds.ok ? [] : creds.problems)];
    if (!settings.ok || !creds.ok) return skipped(problems, so.value.name);

    const s = settings.settings;
    // Credentials first, then the copied settings: both replace nothing the other sets.
    s.env = [...creds.env, ...(s.env ?? [])];
    const patch = injectionPatch(pod, s, { version: o.version, scaledObject: so.value.name, trigger: index });
    return { ...withOwner, result: "injected", patch, scaledObject: so.value.name };
  } catch (err) {
    return {
      ...withOwner,
      result: "lookup-failed",
      problems: [`could not read the ScaledObject or its TriggerAuthentication: ${errorText(err)}`],
    };
  }
}
