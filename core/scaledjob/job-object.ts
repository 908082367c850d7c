/**
 * The Jobs a ScaledJob creates, as KEDA builds them (generateJobs in scale_jobs.go), and which of its Jobs a
 * rollout deletes (deletePreviousVersionScaleJobs). Pure: JSON in, JSON out; the controller sends them.
 */

/** The label every Job of a ScaledJob carries; the controller lists Jobs by it (KEDA's). */
export const SCALEDJOB_NAME_LABEL = "scaledjob.keda.sh/name";
/** The ScaledJob's metadata.generation a Job was made from: a rollout deletes Jobs of other generations. */
export const GENERATION_ANNOTATION = "scaledjob.keda.sh/generation";
/** A comma list of ScaledJob labels not copied to its Jobs. */
export const EXCLUDED_LABELS_ANNOTATION = "scaledjob.keda.sh/job-excluded-labels";
export const MANAGED_BY = "lagscale";

/** A batch/v1 Job as lagscale writes and reads it; the rest of the object is kept as given. */
export interface BatchJob {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }[];
  };
  spec?: Record<string, unknown>;
  status?: {
    completionTime?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
}

/** What of a ScaledJob its Jobs are made from. */
export interface ScaledJobSource {
  apiVersion?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: { jobTargetRef: Record<string, unknown> };
}

function excludedLabels(annotations: Readonly<Record<string, string>> | undefined): Set<string> {
  const raw = annotations?.[EXCLUDED_LABELS_ANNOTATION] ?? "";
  return new Set(
    raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * One Job of the ScaledJob: generateName `<name>-` (or the given name), KEDA's labels and the ScaledJob's
 * (minus the excluded ones), the generation annotation with the ScaledJob's annotations on top, the pod
 * template labelled with the ScaledJob, restartPolicy OnFailure when unset, the ScaledJob as controller owner.
 * `extra` adds labels and annotations (per-message Jobs: the message's partition and offset).
 */
export function jobForScaledJob(
  sj: ScaledJobSource,
  extra: {
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    /** Variables added to every container of the pod template (a same-named one of the template is replaced). */
    env?: { name: string; value: string }[];
  } = {},
): BatchJob {
  const name = sj.metadata.name ?? "";
  const excluded = excludedLabels(sj.metadata.annotations);
  const ownLabels = Object.fromEntries(
    Object.entries(sj.metadata.labels ?? {}).filter(([k]) => !excluded.has(k)),
  );
  const labels: Record<string, string> = {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/part-of": name,
    "app.kubernetes.io/managed-by": MANAGED_BY,
    [SCALEDJOB_NAME_LABEL]: name,
    ...ownLabels,
    ...extra.labels,
  };
  // The ScaledJob's own name label wins over one copied from its labels: the controller lists by it.
  labels[SCALEDJOB_NAME_LABEL] = name;
  const annotations: Record<string, string> = {
    [GENERATION_ANNOTATION]: String(sj.metadata.generation ?? 0),
    ...sj.metadata.annotations,
    ...extra.annotations,
  };

  // A deep copy: the informer's object must not change.
  const spec = structuredClone(sj.spec.jobTargetRef);
  const template = isRecord(spec.template) ? spec.template : {};
  const tMeta = isRecord(template.metadata) ? template.metadata : {};
  const tLabels = isRecord(tMeta.labels) ? (tMeta.labels as Record<string, string>) : {};
  tMeta.labels = { ...tLabels, [SCALEDJOB_NAME_LABEL]: name };
  template.metadata = tMeta;
  const podSpec = isRecord(template.spec) ? template.spec : {};
  if (podSpec.restartPolicy === undefined || podSpec.restartPolicy === "")
    podSpec.restartPolicy = "OnFailure";
  if (extra.env && Array.isArray(podSpec.containers)) {
    const add = extra.env;
    const names = new Set(add.map((e) => e.name));
    podSpec.containers = podSpec.containers.map((c: unknown) => {
      if (!isRecord(c)) return c;
      const env = Array.isArray(c.env)
        ? c.env.filter((e) => !(isRecord(e) && names.has(String(e.name))))
        : [];
      return { ...c, env: [...env, ...add] };
    });
  }
  template.spec = podSpec;
  spec.template = template;

  const metadata: BatchJob["metadata"] = extra.name ? { name: extra.name } : { generateName: `${name}-` };
  if (sj.metadata.namespace) metadata.namespace = sj.metadata.namespace;
  metadata.labels = labels;
  metadata.annotations = annotations;
  metadata.ownerReferences = [
    {
      apiVersion: sj.apiVersion ?? "lagscale.io/v1alpha1",
      kind: "ScaledJob",
      name,
      uid: sj.metadata.uid ?? "",
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
  return { apiVersion: "batch/v1", kind: "Job", metadata, spec };
}

export type RolloutStrategy = "immediate" | "gradual";

/** The deprecated rolloutStrategy wins when set; `default` is immediate (KEDA). */
export function rolloutStrategy(spec: {
  rolloutStrategy?: string | undefined;
  rollout?: { strategy?: string | undefined } | undefined;
}): RolloutStrategy {
  const s = spec.rolloutStrategy ?? spec.rollout?.strategy;
  return s === "gradual" ? "gradual" : "immediate";
}

/**
 * The Jobs an immediate rollout deletes: not deleting already, with a generation annotation missing or other
 * than the ScaledJob's generation, finished or not (KEDA's).
 */
export function jobsOfPreviousGenerations(jobs: readonly BatchJob[], generation: number): string[] {
  return jobs
    .filter((j) => !j.metadata.deletionTimestamp)
    .filter((j) => j.metadata.annotations?.[GENERATION_ANNOTATION] !== String(generation))
    .map((j) => j.metadata.name ?? "")
    .filter((n) => n.length > 0);
}
