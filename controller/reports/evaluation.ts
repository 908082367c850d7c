/**
 * The reports' part of one ScaledObject evaluation: from the kept reports and the target's pods to the
 * decision's ReportsSummary (stalled lag, rebalance hold, the drain-time target), and before a scale-in the
 * `controller.kubernetes.io/pod-deletion-cost` marks that make the ReplicaSet remove idle consumers first.
 *
 * `evaluationReports` is pure; `markForScaleIn` and `clearMarks` are the pod writes, through PodClient.
 * Without a fresh report the summary is undefined and nothing is written: the evaluation is KEDA's.
 */
import type { Logger } from "../../core/log.js";
import {
  summarizeReports,
  type KeptReport,
  type ReportsView,
  type TriggerView,
} from "../../core/reports/summary.js";
import { drainReplicas } from "../../core/scaling/drain.js";
import { podDeletionCosts, type ReportsSummary } from "../../core/scaling/index.js";
import type { LagReadResult } from "../../core/kafka/types.js";
import type { PodClient, TargetPod } from "../kube/index.js";
import type { ParsedKafkaTrigger } from "../scaledobject/spec.js";
import type { TriggerOutcome } from "../scaledobject/triggers.js";
import type { ReportTrigger } from "./receiver.js";

/** A kafka trigger of this evaluation. */
export interface EvaluatedTrigger {
  view: TriggerView;
  /** Total lag before any cap (the backlog), when the read succeeded. */
  totalLag?: number;
  /** Partitions the read found. */
  partitions?: number;
}

/** A kafka trigger's read, as the reports' summary and the receiver's early evaluation see it. */
export function kafkaTriggerForReports(
  t: ParsedKafkaTrigger,
  outcome: TriggerOutcome,
  read: LagReadResult | { ok: false },
): { evaluated: EvaluatedTrigger; report: ReportTrigger } {
  const view: TriggerView = { name: t.metricName, consumerGroup: t.meta.consumerGroup };
  if (t.meta.topic) view.topic = t.meta.topic;
  if (outcome.input.metricValue !== undefined) view.lag = outcome.input.metricValue;
  const evaluated: EvaluatedTrigger = { view };
  if (outcome.lag !== undefined) evaluated.totalLag = outcome.lag;
  const report: ReportTrigger = {
    name: t.metricName,
    consumerGroup: t.meta.consumerGroup,
    lagThreshold: t.meta.lagThreshold,
    activationLagThreshold: t.meta.activationLagThreshold,
  };
  if (t.meta.topic) report.topic = t.meta.topic;
  if (read.ok && !t.meta.allowIdleConsumers) {
    // Replicas beyond the partitions would idle (KEDA's cap), unless the trigger allows idle consumers.
    evaluated.partitions = read.partitions.length;
    report.partitions = read.partitions.length;
  }
  return { evaluated, report };
}

export interface EvaluationReportsInput {
  kept: readonly KeptReport[];
  pods: readonly TargetPod[];
  triggers: readonly EvaluatedTrigger[];
  now: number;
  /** spec.advanced.lagscale.drainTimeSeconds, when set. */
  drainTimeSeconds?: number;
  maxReplicaCount: number;
}

export interface EvaluationReports {
  view: ReportsView;
  /** For decideScaledObject; undefined when no fresh report counts. */
  summary: ReportsSummary | undefined;
}

export function evaluationReports(input: EvaluationReportsInput): EvaluationReports {
  const pods = input.pods.filter((p) => !p.terminating);
  const view = summarizeReports(
    input.kept,
    pods,
    input.triggers.map((t) => t.view),
    input.now,
  );
  if (view.reportedPods === 0) return { view, summary: undefined };
  const summary: ReportsSummary = { ...view.summary };
  if (input.drainTimeSeconds !== undefined) {
    let most: number | undefined;
    for (const t of input.triggers) {
      if (t.totalLag === undefined) continue;
      const n = drainReplicas({
        backlog: t.totalLag - (view.summary.stalledLag?.[t.view.name] ?? 0),
        perPodRate: view.ratePerPod[t.view.name],
        drainTimeSeconds: input.drainTimeSeconds,
        maxReplicaCount: input.maxReplicaCount,
        ...(t.partitions !== undefined ? { partitions: t.partitions } : {}),
      });
      if (n !== undefined) most = Math.max(most ?? 0, n);
    }
    if (most !== undefined) summary.drainReplicas = most;
  }
  return { view, summary };
}

type CostWriter = Pick<PodClient, "setDeletionCost">;

/**
 * Before a scale-in by `n`: the lowest deletion costs on the pods to go (idle first; pods without a report
 * rank as busy), and the marks this controller set earlier taken off the pods that now stay. `marked`
 * (pod names) is updated.
 */
export async function markForScaleIn(
  writer: CostWriter,
  pods: readonly TargetPod[],
  view: ReportsView,
  n: number,
  marked: Set<string>,
  log: Logger,
): Promise<void> {
  const live = new Set(pods.filter((p) => !p.terminating).map((p) => p.name));
  const costs = podDeletionCosts(
    view.pods.filter((p) => live.has(p.name)),
    n,
  );
  for (const pod of pods) {
    const want = costs[pod.name];
    if (want === undefined) continue;
    if (want !== 0) {
      if (pod.deletionCost !== want) await writer.setDeletionCost(pod.namespace, pod.name, want);
      marked.add(pod.name);
    } else if (marked.has(pod.name)) {
      if (pod.deletionCost !== undefined) await writer.setDeletionCost(pod.namespace, pod.name, null);
      marked.delete(pod.name);
    }
  }
  log.info({ pods: Object.entries(costs).filter(([, c]) => c !== 0) }, "marked pods for the scale-in");
}

/** Takes this controller's marks off the pods that are still there (no scale-in is under way). */
export async function clearMarks(
  writer: CostWriter,
  pods: readonly TargetPod[],
  marked: Set<string>,
): Promise<void> {
  for (const pod of pods) {
    if (!marked.has(pod.name) || pod.terminating) continue;
    if (pod.deletionCost !== undefined) await writer.setDeletionCost(pod.namespace, pod.name, null);
  }
  marked.clear();
}
