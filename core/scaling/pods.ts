/**
 * Which consumer pods should go first when scaling in: Kubernetes removes the pods of a ReplicaSet with the
 * lowest `controller.kubernetes.io/pod-deletion-cost` first, so the controller gives the lowest costs to
 * idle pods, then stalled ones, then the ones with the least lag.
 */

export const POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

export type PodState = "busy" | "idle" | "stalled" | "rebalancing";

export interface PodSummary {
  name: string;
  state: PodState;
  /** The lag of the partitions assigned to the pod. */
  lag: number;
}

const RANK: Record<PodState, number> = { idle: 0, stalled: 1, busy: 2, rebalancing: 2 };

/**
 * The `n` pods to remove first, in removal order: idle pods, then stalled pods, then the rest by lowest lag;
 * ties by name, so that the order is stable.
 */
export function pickPodsToRemove(pods: readonly PodSummary[], n: number): PodSummary[] {
  if (n <= 0) return [];
  const sorted = [...pods].sort(
    (a, b) =>
      RANK[a.state] - RANK[b.state] || a.lag - b.lag || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return sorted.slice(0, n);
}

/**
 * Deletion costs for a scale-in by `n`: the chosen pods get -n..-1 in removal order (lowest first), every
 * other pod 0 (the value Kubernetes assumes when the annotation is absent).
 */
export function podDeletionCosts(pods: readonly PodSummary[], n: number): Record<string, number> {
  const costs: Record<string, number> = {};
  for (const p of pods) costs[p.name] = 0;
  const chosen = pickPodsToRemove(pods, n);
  chosen.forEach((p, i) => {
    costs[p.name] = i - chosen.length;
  });
  return costs;
}
