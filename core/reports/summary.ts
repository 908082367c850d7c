/**
 * From the sidecar reports kept for one ScaledObject to what its evaluation uses: the decision's
 * ReportsSummary (stalled lag per trigger, whether a rebalance holds decisions), one PodSummary per pod of
 * the scale target (for podDeletionCosts before a scale-in), the measured consumption rate per pod (for the
 * drain-time target) and the stalled partitions (for Events and metrics).
 *
 * Pure. Only fresh reports of pods that are still in the target, running, with the IP they reported from
 * count; a pod without one ranks as busy (unknown is not idle). Without any fresh report the summary is
 * empty and the evaluation is exactly KEDA's.
 */
import type { ReportsSummary } from "../scaling/decide.js";
import type { PodSummary } from "../scaling/pods.js";
import type { SidecarReport } from "./schema.js";

/** A report older than this (by receive time) counts as no report: three missed pushes at the slow interval. */
export const REPORT_STALE_AFTER_MS = 30_000;
/** A rebalance longer than this no longer holds decisions: a stuck group must not freeze scaling. */
export const REBALANCE_HOLD_MAX_MS = 60_000;
/** The lag a pod without a fresh report ranks with: busier than any reported pod. */
export const UNKNOWN_POD_LAG = Number.MAX_SAFE_INTEGER;

/** A report as the receiver keeps it. */
export interface KeptReport {
  report: SidecarReport;
  /** When the receiver accepted it, epoch ms (the sidecar's own clock is not trusted for age). */
  receivedAt: number;
  /** Since when this pod has reported a rebalance without a break, epoch ms. */
  rebalancingSince?: number;
}

/** A pod of the scale target as the controller sees it now. */
export interface TargetPodView {
  name: string;
  ip: string | undefined;
  phase: string;
}

/** What a kafka trigger watches: its metric name, group, topic (absent: every topic of the group), lag. */
export interface TriggerView {
  name: string;
  consumerGroup: string;
  topic?: string;
  /** The trigger's lag as this evaluation read it (the metric value): stalled lag is capped at it. */
  lag?: number;
}

export interface Stall {
  pod: string;
  consumerGroup: string;
  topic: string;
  partition: number;
  lag: number;
  stalledForMs: number;
}

export interface ReportsView {
  /** For decideScaledObject; empty when no fresh report counts. */
  summary: ReportsSummary;
  /** One per pod of the target, sorted by name. */
  pods: PodSummary[];
  /** Pods with a fresh report. */
  reportedPods: number;
  /** Per trigger name: mean committed-offset rate of the pods that measured one (> 0), messages/s. */
  ratePerPod: Record<string, number>;
  /** Stalled partitions in fresh reports, sorted by pod, topic, partition. */
  stalls: Stall[];
}

export interface SummaryOptions {
  staleAfterMs?: number;
  rebalanceHoldMaxMs?: number;
}

const REBALANCING_GROUP_STATES = new Set(["PreparingRebalance", "CompletingRebalance"]);

function isRebalancing(r: SidecarReport): boolean {
  return r.state === "rebalancing" || REBALANCING_GROUP_STATES.has(r.groupState);
}

/** The kept entry after accepting `report` at `now`: the start of a running rebalance is carried over. */
export function keepReport(prev: KeptReport | undefined, report: SidecarReport, now: number): KeptReport {
  const kept: KeptReport = { report, receivedAt: now };
  if (isRebalancing(report)) kept.rebalancingSince = prev?.rebalancingSince ?? now;
  return kept;
}

/** Whether a kept report still counts at `now`. */
export function isFresh(kept: KeptReport, now: number, staleAfterMs = REPORT_STALE_AFTER_MS): boolean {
  return now - kept.receivedAt <= staleAfterMs;
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The reports that count: fresh, of a running pod of the target that has the IP it reported from, and
 * classified (a sidecar that cannot read its group says idle with a reason; unknown is not idle).
 */
export function countingReports(
  kept: readonly KeptReport[],
  pods: readonly TargetPodView[],
  now: number,
  staleAfterMs = REPORT_STALE_AFTER_MS,
): Map<string, KeptReport> {
  const running = new Map(pods.filter((p) => p.phase === "Running" && p.ip).map((p) => [p.name, p.ip]));
  const out = new Map<string, KeptReport>();
  for (const k of kept) {
    const { name, ip } = k.report.pod;
    if (running.get(name) !== ip || !isFresh(k, now, staleAfterMs) || k.report.unsupported) continue;
    const other = out.get(name);
    if (!other || other.receivedAt < k.receivedAt) out.set(name, k);
  }
  return out;
}

export function summarizeReports(
  kept: readonly KeptReport[],
  pods: readonly TargetPodView[],
  triggers: readonly TriggerView[],
  now: number,
  options: SummaryOptions = {},
): ReportsView {
  const counting = countingReports(kept, pods, now, options.staleAfterMs);
  const podSummaries: PodSummary[] = pods
    .map((p): PodSummary => {
      const k = counting.get(p.name);
      return k
        ? { name: p.name, state: k.report.state, lag: k.report.lag }
        : { name: p.name, state: "busy", lag: UNKNOWN_POD_LAG };
    })
    .sort(byName);
  const view: ReportsView = {
    summary: {},
    pods: podSummaries,
    reportedPods: counting.size,
    ratePerPod: {},
    stalls: [],
  };
  if (counting.size === 0) return view;

  const holdMax = options.rebalanceHoldMaxMs ?? REBALANCE_HOLD_MAX_MS;
  const reports = [...counting.values()].sort((a, b) => byName(a.report.pod, b.report.pod));
  if (reports.some((k) => k.rebalancingSince !== undefined && now - k.rebalancingSince <= holdMax)) {
    view.summary.rebalancing = true;
  }

  // One stall per group/topic/partition: during a handover two pods may list the same partition.
  const stalls = new Map<string, Stall>();
  for (const k of reports) {
    const r = k.report;
    for (const p of r.partitions) {
      if (!p.stalled || p.lag <= 0) continue;
      const key = `${r.consumerGroup}\u0000${p.topic}\u0000${p.partition}`;
      const prev = stalls.get(key);
      if (prev && prev.lag >= p.lag) continue;
      stalls.set(key, {
        pod: r.pod.name,
        consumerGroup: r.consumerGroup,
        topic: p.topic,
        partition: p.partition,
        lag: p.lag,
        stalledForMs: p.stalledForMs,
      });
    }
  }
  view.stalls = [...stalls.values()].sort(
    (a, b) =>
      byName({ name: a.pod }, { name: b.pod }) ||
      byName({ name: a.topic }, { name: b.topic }) ||
      a.partition - b.partition,
  );

  const stalledLag: Record<string, number> = {};
  for (const t of triggers) {
    const watches = (group: string, topic: string) =>
      group === t.consumerGroup && (t.topic === undefined || t.topic === topic);
    let lag = 0;
    for (const s of view.stalls) if (watches(s.consumerGroup, s.topic)) lag += s.lag;
    if (t.lag !== undefined) lag = Math.min(lag, Math.max(0, t.lag));
    if (lag > 0) stalledLag[t.name] = lag;

    const rates = reports
      .filter((k) => k.report.consumerGroup === t.consumerGroup)
      .map((k) =>
        k.report.partitions
          .filter((p) => t.topic === undefined || p.topic === t.topic)
          .reduce((sum, p) => sum + p.ratePerSecond, 0),
      )
      .filter((r) => r > 0);
    if (rates.length > 0) view.ratePerPod[t.name] = rates.reduce((a, b) => a + b, 0) / rates.length;
  }
  if (Object.keys(stalledLag).length > 0) view.summary.stalledLag = stalledLag;
  return view;
}

/** Stable key of a stall, to tell a new stall from one already announced. */
export function stallKey(s: Stall): string {
  return `${s.pod}/${s.consumerGroup}/${s.topic}/${s.partition}`;
}

/** The stalls not in `announced` (keys from stallKey). */
export function newStalls(stalls: readonly Stall[], announced: ReadonlySet<string>): Stall[] {
  return stalls.filter((s) => !announced.has(stallKey(s)));
}
