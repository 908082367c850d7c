/**
 * The ready pods of a scale target from a watch instead of a pod list per evaluation, counted as the HPA's
 * replica calculator counts them from its pod lister for a `Value` metric (getReadyPodsCount: pods the
 * target's selector matches whose phase is Running and whose Ready condition is True; a terminating pod
 * counts while it is both, as in the HPA).
 *
 * Only `metricType: Value` needs the count, so the pod watch (of the watched namespaces, each pod trimmed to
 * its labels, phase and readiness) starts at the first count asked for, not with the controller. Until it
 * has listed, `readyCount` answers undefined and the caller lists the pods from the API server.
 */
import type { Informer } from "./informer.js";
import type { KubeObject, Pod, ResourceType } from "./resources.js";
import type { ScaleInfo } from "./scale.js";
import { matchesSelector, parseLabelSelector, type Requirement } from "./selector.js";
import type { InformerFactory } from "./targets.js";

/** A pod as the cache keeps it. */
export interface CachedPod extends KubeObject {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  status: { phase?: string; ready: boolean };
}

/** core/v1 pods as this cache keeps them (trimmed by trimPod). */
const TRIMMED_PODS: ResourceType<CachedPod> = {
  group: "",
  version: "v1",
  kind: "Pod",
  plural: "pods",
  namespaced: true,
};

/** What the HPA counts of a pod: labels, phase and the Ready condition. */
export function trimPod(o: KubeObject): CachedPod {
  const p = o as Pod;
  const m = p.metadata ?? {};
  const out: CachedPod = {
    metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion },
    status: {
      ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    },
  };
  if (m.labels) out.metadata.labels = m.labels;
  if (p.status?.phase !== undefined) out.status.phase = p.status.phase;
  return out;
}

/** The HPA's predicate: Running and Ready. */
export function countsAsReady(pod: { phase?: string | undefined; ready: boolean }): boolean {
  return pod.phase === "Running" && pod.ready;
}

/** How many of `pods` the selector matches and count as ready. */
export function countReady(pods: readonly CachedPod[], requirements: readonly Requirement[]): number {
  let n = 0;
  for (const p of pods)
    if (countsAsReady(p.status) && matchesSelector(requirements, p.metadata.labels ?? {})) n++;
  return n;
}

/** The selector of a target's `/scale`, parsed; throws an error a person can act on when there is none. */
export function targetSelector(scale: ScaleInfo): Requirement[] {
  const what = `${scale.target.kind} ${scale.namespace}/${scale.name}`;
  if (!scale.selector) {
    throw new Error(
      `${what}: its /scale subresource reports no status.selector, so its pods cannot be found`,
    );
  }
  const parsed = parseLabelSelector(scale.selector);
  if (!parsed.ok) throw new Error(`${what}: status.selector of its /scale: ${parsed.error}`);
  return parsed.requirements;
}

export class PodCache {
  private informer: Informer<CachedPod> | undefined;

  constructor(private readonly kube: InformerFactory) {}

  /** True once the watch has been asked for (by a first count). */
  get watching(): boolean {
    return this.informer !== undefined;
  }

  /** Ready pods of the target from the cache; undefined while the watch has not listed (starting it). */
  readyCount(scale: ScaleInfo): number | undefined {
    // one object cached per pod: a resync would only re-deliver them to no handler
    this.informer ??= this.kube.informer(TRIMMED_PODS, { transform: trimPod, resyncMs: 0 });
    if (!this.informer.hasSynced()) return undefined;
    return countReady(this.informer.list(scale.namespace), targetSelector(scale));
  }
}
