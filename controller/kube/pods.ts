/**
 * The pods of a scale target (found through the label selector its `/scale` status reports), with what the
 * controller matches sidecar reports against (IP) and what it needs before marking pods for removal (phase,
 * readiness, the current deletion cost); and setting or clearing that deletion cost.
 */
import { POD_DELETION_COST_ANNOTATION } from "../../core/scaling/index.js";
import { PODS, resourcePath, type KubeList, type Pod } from "./resources.js";
import { countsAsReady, targetSelector, type PodCache } from "./pod-cache.js";
import type { KubeRest } from "./rest.js";
import type { ScaleInfo } from "./scale.js";

export interface TargetPod {
  namespace: string;
  name: string;
  uid: string | undefined;
  /** status.podIP; undefined until the pod has one. */
  ip: string | undefined;
  /** Pending, Running, Succeeded, Failed or Unknown. */
  phase: string;
  /** The Ready condition is True. */
  ready: boolean;
  /** metadata.deletionTimestamp is set: the pod is going away. */
  terminating: boolean;
  /** The `controller.kubernetes.io/pod-deletion-cost` annotation, when set to an integer. */
  deletionCost: number | undefined;
  nodeName: string | undefined;
  labels: Record<string, string>;
}

export function toTargetPod(pod: Pod): TargetPod {
  const raw = pod.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION];
  const cost = raw !== undefined && /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid,
    ip: pod.status?.podIP || undefined,
    phase: pod.status?.phase ?? "Unknown",
    ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    deletionCost: cost,
    nodeName: pod.spec?.nodeName,
    labels: pod.metadata?.labels ?? {},
  };
}

export class PodClient {
  /** Ready counts from a pod watch (pod-cache.ts); absent: every count lists the pods. */
  private cache: PodCache | undefined;

  constructor(private readonly rest: KubeRest) {}

  /** Counts ready pods from `cache` from now on (its watch starts at the first count). */
  useCache(cache: PodCache): void {
    this.cache = cache;
  }

  /**
   * The target's ready pods as the HPA counts them for a Value metric (Running and Ready), from the pod cache
   * once it has listed, else from a list.
   */
  async readyCount(scale: ScaleInfo): Promise<number> {
    const cached = this.cache?.readyCount(scale);
    if (cached !== undefined) return cached;
    targetSelector(scale); // the same error for a target without a usable selector, cache or not
    return (await this.forTarget(scale)).filter((p) => countsAsReady(p)).length;
  }

  /** Pods matching a label selector string in a namespace, sorted by name. */
  async list(namespace: string, labelSelector: string): Promise<TargetPod[]> {
    const list = await this.rest.get<KubeList<Pod>>(resourcePath(PODS, namespace), { labelSelector });
    return list.items.map(toTargetPod).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * The pods of a scale target, from the selector in its `/scale` status (ScaleClient.get). A target whose
   * `/scale` reports no selector (a custom resource without labelSelectorPath) has no pods lagscale can find:
   * that is an error, not an empty list.
   */
  async forTarget(scale: ScaleInfo): Promise<TargetPod[]> {
    if (!scale.selector) {
      throw new Error(
        `${scale.target.kind} ${scale.namespace}/${scale.name}: its /scale subresource reports no status.selector, so its pods cannot be found`,
      );
    }
    return this.list(scale.namespace, scale.selector);
  }

  /**
   * Sets the pod's `controller.kubernetes.io/pod-deletion-cost` (an int32), or removes it with `null`.
   * A merge patch of that one annotation: other annotations are left alone.
   */
  async setDeletionCost(namespace: string, name: string, cost: number | null): Promise<void> {
    if (cost !== null && (!Number.isInteger(cost) || cost < -2147483648 || cost > 2147483647)) {
      throw new Error(`pod ${namespace}/${name}: deletion cost ${cost} is not an int32`);
    }
    await this.rest.patch(resourcePath(PODS, namespace, name), {
      metadata: { annotations: { [POD_DELETION_COST_ANNOTATION]: cost === null ? null : String(cost) } },
    });
  }
}
