/**
 * The reports the leader keeps: per ScaledObject ("namespace/name"), per pod, the latest accepted report
 * with its receive time. Staleness is judged where reports are read (core/reports/summary.ts); the store
 * only drops what can no longer count, so it stays as small as the set of pods that report.
 */
import { keepReport, REPORT_STALE_AFTER_MS, type KeptReport } from "../../core/reports/summary.js";
import type { SidecarReport } from "../../core/reports/schema.js";

export class ReportStore {
  private readonly byObject = new Map<string, Map<string, KeptReport>>();

  constructor(
    /** Reports older than this are dropped (they count as none long before). */
    private readonly dropAfterMs = 4 * REPORT_STALE_AFTER_MS,
  ) {}

  /** Keeps `report` for the ScaledObject `key`, replacing the pod's previous one. */
  put(key: string, report: SidecarReport, now: number): KeptReport {
    let pods = this.byObject.get(key);
    if (!pods) {
      pods = new Map();
      this.byObject.set(key, pods);
    }
    const kept = keepReport(pods.get(report.pod.name), report, now);
    pods.set(report.pod.name, kept);
    return kept;
  }

  /** The reports kept for the ScaledObject `key`; old ones are dropped on the way. */
  list(key: string, now: number): KeptReport[] {
    const pods = this.byObject.get(key);
    if (!pods) return [];
    for (const [pod, k] of pods) if (now - k.receivedAt > this.dropAfterMs) pods.delete(pod);
    if (pods.size === 0) this.byObject.delete(key);
    return [...pods.values()];
  }

  /** Every kept report with its ScaledObject key (for metrics); old ones are dropped on the way. */
  entries(now: number): [string, KeptReport][] {
    return [...this.byObject.keys()].flatMap((key) =>
      this.list(key, now).map((k): [string, KeptReport] => [key, k]),
    );
  }

  /** Forgets a ScaledObject (deleted, or no longer ours). */
  forget(key: string): void {
    this.byObject.delete(key);
  }

  /** Forgets everything (leadership lost: the next leader collects its own). */
  clear(): void {
    this.byObject.clear();
  }

  /** ScaledObjects with reports, for metrics and tests. */
  size(): number {
    return this.byObject.size;
  }
}
