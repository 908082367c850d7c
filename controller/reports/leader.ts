/**
 * The leader's side of the receiver over the ScaledObject controller: what it remembers of each object's
 * last evaluation (its kafka triggers, replicas, the /scale of its target), the target's pods read through
 * the selector of that /scale (cached for a moment: one list serves the reports of every pod), and
 * evaluating an object at once.
 */
import type { PodClient, ScaleInfo, TargetPod } from "../kube/index.js";
import type { ContextLookup, LeaderReports, ReportContext } from "./receiver.js";

/** What the ScaledObject controller keeps for reports after each evaluation. */
export interface ObjectReportState {
  context: ReportContext;
  scale: ScaleInfo;
}

export interface ReportsSource {
  /** "unknown": no such ScaledObject is watched; "not-ready": it has not been evaluated yet. */
  reportState(key: string): ObjectReportState | "unknown" | "not-ready";
  evaluateNow(key: string): void;
}

export class ControllerReports implements LeaderReports {
  private readonly cache = new Map<string, { at: number; pods: Promise<TargetPod[]> }>();

  constructor(
    private readonly source: ReportsSource,
    private readonly pods: Pick<PodClient, "forTarget">,
    private readonly cacheMs = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  context(key: string): ContextLookup {
    const st = this.source.reportState(key);
    if (st === "unknown") {
      return { kind: "unknown", reason: `no ScaledObject ${key} is watched by this lagscale controller` };
    }
    if (st === "not-ready") {
      return { kind: "not-ready", reason: `ScaledObject ${key} has not been evaluated yet; retry` };
    }
    return { kind: "ok", context: st.context };
  }

  targetPods(key: string, fresh: boolean): Promise<TargetPod[]> {
    const st = this.source.reportState(key);
    if (typeof st === "string") return Promise.resolve([]);
    const now = this.now();
    const hit = this.cache.get(key);
    if (!fresh && hit && now - hit.at < this.cacheMs) return hit.pods;
    const pods = this.pods.forTarget(st.scale);
    this.cache.set(key, { at: now, pods });
    pods.catch(() => this.cache.delete(key));
    if (this.cache.size > 10_000) this.cache.clear();
    return pods;
  }

  evaluateNow(key: string): void {
    this.source.evaluateNow(key);
  }
}
