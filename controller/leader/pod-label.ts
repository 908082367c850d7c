/**
 * Marks the leader's own pod with `lagscale.io/leader=true`, so that a Service selecting that label (the one
 * sidecars report to) reaches the leader alone.
 *
 * - When this replica starts leading, its pod gets the label; then, best effort, the label is removed from
 *   the other pods that carry it and look like replicas of the same workload: pods whose labels include all of
 *   our pod's labels except the per-revision ones (pod-template-hash, controller-revision-hash, the
 *   StatefulSet pod name and index). That cleans up after a leader that died without removing its label
 *   (SIGKILL, a lost node). Pass `peerSelector` to choose those pods explicitly.
 * - When it stops leading, or sees another holder in the lease, its pod loses the label (also at start-up,
 *   when a restarted container finds the label left by its previous run).
 *
 * Writes are JSON merge patches of the label alone, issued one at a time towards the latest wanted state, and
 * retried while they fail; a pod that is gone counts as done.
 */
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import { createLogger, type Logger } from "../../core/log.js";
import type { LeaderCallbacks } from "./elector.js";
import { apiStatus } from "./lease-lock.js";

export const LEADER_LABEL = "lagscale.io/leader";

const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** Labels that differ between revisions or replicas of one workload, left out of the peer selector. */
const PER_REPLICA_LABELS = new Set([
  "pod-template-hash",
  "controller-revision-hash",
  "statefulset.kubernetes.io/pod-name",
  "apps.kubernetes.io/pod-index",
]);

export interface LeaderPodLabelOptions {
  /** A CoreV1Api, or a kubeconfig (path or loaded) to make one from. */
  api?: CoreV1Api;
  kubeconfig?: string | KubeConfig;
  namespace: string;
  podName: string;
  label?: string;
  /** The elector's identity: onNewLeader for ourselves is then not mistaken for another replica. */
  identity?: string;
  /** Label selector for the pods whose stale leader label the new leader removes; derived from our pod by default. */
  peerSelector?: string;
  logger?: Logger;
  /** Pause between retries of a failed patch. Default 2 s. */
  retryMs?: number;
}

export interface LeaderPodLabel extends LeaderCallbacks {
  /** Resolves once the label on our pod matches the latest wanted state (or `close()` was called). */
  settled(): Promise<void>;
  /** Stops retrying. */
  close(): void;
}

/** The selector for our pod's siblings: our labels minus per-replica ones and the leader label; undefined if none. */
export function peerSelectorFor(pod: V1Pod, label: string = LEADER_LABEL): string | undefined {
  const parts = Object.entries(pod.metadata?.labels ?? {})
    .filter(([k]) => k !== label && !PER_REPLICA_LABELS.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(",") : undefined;
}

export function labelLeaderPod(options: LeaderPodLabelOptions): LeaderPodLabel {
  const api = options.api ?? makeApi(options.kubeconfig);
  const label = options.label ?? LEADER_LABEL;
  const { namespace, podName } = options;
  const retryMs = options.retryMs ?? 2_000;
  const log = (options.logger ?? createLogger("leader-label")).child({
    pod: `${namespace}/${podName}`,
    label,
  });

  let wanted = false;
  let applied: boolean | undefined;
  let leading = false;
  let closed = false;
  let wake: (() => void) | undefined;
  let worker: Promise<void> | undefined;
  const waiters: (() => void)[] = [];

  async function patchLabel(name: string, value: "true" | null): Promise<void> {
    try {
      await api.patchNamespacedPod(
        { name, namespace, body: { metadata: { labels: { [label]: value } } } },
        MERGE_PATCH,
      );
    } catch (err) {
      if (apiStatus(err) === 404) return;
      throw err;
    }
  }

  async function clearPeers(): Promise<void> {
    let selector = options.peerSelector;
    if (selector === undefined) {
      const own = await api.readNamespacedPod({ name: podName, namespace });
      selector = peerSelectorFor(own, label);
      if (selector === undefined) {
        log.info("our pod has no workload labels: not looking for stale leader labels on other pods");
        return;
      }
    }
    const pods = await api.listNamespacedPod({ namespace, labelSelector: `${label}=true,${selector}` });
    for (const pod of pods.items) {
      const name = pod.metadata?.name;
      if (!name || name === podName) continue;
      await patchLabel(name, null);
      log.info({ stale: name }, "removed a stale leader label");
    }
  }

  async function work(): Promise<void> {
    while (!closed) {
      if (applied === wanted) {
        for (const w of waiters.splice(0)) w();
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const target = wanted;
      try {
        await patchLabel(podName, target ? "true" : null);
        applied = target;
        log.info(target ? "labelled our pod as the leader" : "removed the leader label from our pod");
        if (target)
          await clearPeers().catch((err: unknown) =>
            log.warn({ err: String(err) }, "cannot clear stale labels"),
          );
      } catch (err) {
        log.warn({ err: String(err), retryMs }, "cannot patch our pod's leader label; retrying");
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
    for (const w of waiters.splice(0)) w();
  }

  function want(value: boolean): void {
    wanted = value;
    worker ??= work();
    wake?.();
  }

  return {
    onStartedLeading: () => {
      leading = true;
      want(true);
    },
    onStoppedLeading: async () => {
      leading = false;
      want(false);
      await settled();
    },
    onNewLeader: (identity) => {
      if (options.identity !== undefined && identity === options.identity) return;
      if (!leading) want(false);
    },
    settled,
    close: () => {
      closed = true;
      wake?.();
    },
  };

  function settled(): Promise<void> {
    if (closed || (worker && applied === wanted && wake)) return Promise.resolve();
    worker ??= work();
    return new Promise<void>((resolve) => waiters.push(resolve));
  }
}

function makeApi(kubeconfig: string | KubeConfig | undefined): CoreV1Api {
  let kc: KubeConfig;
  if (kubeconfig instanceof KubeConfig) kc = kubeconfig;
  else {
    kc = new KubeConfig();
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
  }
  return kc.makeApiClient(CoreV1Api);
}
