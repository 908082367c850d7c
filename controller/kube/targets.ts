/**
 * The scale targets of the common kinds, apps/v1 Deployment and StatefulSet, from informers instead of a
 * `/scale` read per evaluation: `spec.replicas` (what KEDA reads as the current replicas), `status.replicas`,
 * the pod selector and the pod template's environment, nothing else (each cached object is trimmed, so
 * 10,000 targets cost a few MiB). Other kinds are read through `/scale` as before.
 *
 * A write through `/scale` is seen by the cache a moment later, through the watch. Until the cache holds the
 * resourceVersion the write answered (or 30 s passed), the target is read from the API server, so an
 * evaluation right after a scale never decides from the replicas before it.
 */
import type { PodTemplate } from "../auth/sources.js";
import type { ResolvedKind } from "./discovery.js";
import type { Informer, InformerOptions } from "./informer.js";
import { objectKey, type KubeObject, type ResourceType } from "./resources.js";
import type { ScaleInfo } from "./scale.js";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A Deployment or StatefulSet as the cache keeps it. */
export interface Workload extends KubeObject {
  spec?: { replicas?: number; selector?: LabelSelector; template?: PodTemplate };
  status?: { replicas?: number };
}

export const DEPLOYMENTS: ResourceType<Workload> = {
  group: "apps",
  version: "v1",
  kind: "Deployment",
  plural: "deployments",
  namespaced: true,
};
export const STATEFULSETS: ResourceType<Workload> = {
  group: "apps",
  version: "v1",
  kind: "StatefulSet",
  plural: "statefulsets",
  namespaced: true,
};

/** How long a write may stay unseen by the watch before the cache is trusted again. */
const PENDING_WRITE_MS = 30_000;

/** The fields lagscale reads of a workload: replicas, selector, containers' names and environment. */
export function trimWorkload(o: KubeObject): Workload {
  const w = o as Workload;
  const m = w.metadata ?? {};
  const out: Workload = {
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion },
  };
  const spec: NonNullable<Workload["spec"]> = {};
  if (w.spec?.replicas !== undefined) spec.replicas = w.spec.replicas;
  if (w.spec?.selector) spec.selector = w.spec.selector;
  const containers = w.spec?.template?.spec?.containers;
  if (containers) {
    spec.template = {
      spec: {
        containers: containers.map((c) => ({
          name: c.name,
          ...(c.env ? { env: c.env } : {}),
          ...(c.envFrom ? { envFrom: c.envFrom } : {}),
        })),
      },
    };
  } else if (w.spec?.template) spec.template = {};
  out.spec = spec;
  if (w.status?.replicas !== undefined) out.status = { replicas: w.status.replicas };
  return out;
}

/**
 * A label selector as `/scale` reports it in status.selector (metav1.LabelSelectorAsSelector's String():
 * requirements sorted by key, values sorted).
 */
export function formatLabelSelector(sel: LabelSelector | undefined): string | undefined {
  if (!sel) return undefined;
  const parts: [string, string][] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push([k, `${k}=${v}`]);
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push([e.key, `${e.key} in (${values})`]);
    else if (e.operator === "NotIn") parts.push([e.key, `${e.key} notin (${values})`]);
    else if (e.operator === "Exists") parts.push([e.key, e.key]);
    else if (e.operator === "DoesNotExist") parts.push([e.key, `!${e.key}`]);
  }
  parts.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return parts.length > 0 ? parts.map((p) => p[1]).join(",") : undefined;
}

/** What `/scale` would answer, from the cached workload (spec.replicas is defaulted by the API server). */
export function scaleFromWorkload(target: ResolvedKind, w: Workload): ScaleInfo {
  return {
    namespace: w.metadata?.namespace ?? "",
    name: w.metadata?.name ?? "",
    target,
    replicas: w.spec?.replicas ?? 1,
    statusReplicas: w.status?.replicas ?? 0,
    selector: formatLabelSelector(w.spec?.selector),
    resourceVersion: w.metadata?.resourceVersion,
  };
}

export interface InformerFactory {
  informer<T extends KubeObject>(type: ResourceType<T>, options?: InformerOptions): Informer<T>;
}

export type CachedTarget = { found: true; workload: Workload } | { found: false };

export class TargetCache {
  private readonly informers = new Map<string, Informer<Workload>>();
  /** kind/namespace/name → the resourceVersion a write answered, and when. */
  private readonly pending = new Map<string, { resourceVersion: string; at: number }>();

  constructor(
    kube: InformerFactory,
    private readonly now: () => number = Date.now,
  ) {
    for (const type of [DEPLOYMENTS, STATEFULSETS]) {
      const informer = kube.informer(type, { transform: trimWorkload });
      informer.onChange((key, w) => {
        const p = this.pending.get(`${type.kind}/${key}`);
        if (p && p.resourceVersion === w.metadata?.resourceVersion)
          this.pending.delete(`${type.kind}/${key}`);
      });
      this.informers.set(type.kind, informer);
    }
  }

  /**
   * The cached target, or undefined when the cache cannot answer: a kind it does not hold, not listed yet,
   * or a write of ours it has not seen. `found: false` only when the synced cache has no such object.
   */
  lookup(
    namespace: string,
    target: Pick<ResolvedKind, "group" | "kind">,
    name: string,
  ): CachedTarget | undefined {
    if (target.group !== "apps") return undefined;
    const informer = this.informers.get(target.kind);
    if (!informer?.hasSynced()) return undefined;
    const key = `${namespace}/${name}`;
    const p = this.pending.get(`${target.kind}/${key}`);
    if (p) {
      if (this.now() - p.at < PENDING_WRITE_MS) return undefined;
      this.pending.delete(`${target.kind}/${key}`);
    }
    const workload = informer.get(key);
    return workload ? { found: true, workload } : { found: false };
  }

  /** `/scale` of the target from the cache; undefined when the API server must be asked. */
  scale(namespace: string, target: ResolvedKind, name: string): ScaleInfo | undefined {
    const c = this.lookup(namespace, target, name);
    // A target missing from the cache may be new: the API server gives the answer (and its 404).
    return c?.found ? scaleFromWorkload(target, c.workload) : undefined;
  }

  /** A `/scale` write answered with `info`: the cache is not trusted for this target until it has caught up. */
  wrote(info: ScaleInfo): void {
    if (info.target.group !== "apps" || !this.informers.has(info.target.kind) || !info.resourceVersion)
      return;
    const key = `${info.target.kind}/${objectKey({ metadata: { namespace: info.namespace, name: info.name } })}`;
    const informer = this.informers.get(info.target.kind);
    // already delivered (the watch can be faster than the write's answer)
    if (informer?.get(`${info.namespace}/${info.name}`)?.metadata?.resourceVersion === info.resourceVersion)
      return;
    this.pending.set(key, { resourceVersion: info.resourceVersion, at: this.now() });
  }
}
