/**
 * The report receiver's metrics: reports by answer code, the early evaluations they started, and each
 * reporting pod's state as its latest fresh report says (read from the store at scrape time, so a pod
 * whose reports stop drops out once they go stale).
 */
import { Counter, Gauge, type Registry } from "prom-client";
import { POD_STATES } from "../../core/reports/schema.js";
import { isFresh } from "../../core/reports/summary.js";
import type { EarlyReason } from "../../core/scaling/early.js";
import type { ReportStore } from "./store.js";

export class ReportMetrics {
  private readonly received: Counter<"code">;
  private readonly early: Counter<"reason">;

  constructor(registry: Registry, store?: ReportStore, now: () => number = Date.now) {
    this.received = new Counter({
      name: "lagscale_reports_received_total",
      help: "Sidecar reports received, by the HTTP code answered (200 accepted; 401, 403, 400, 413, 429 refused; 503 not the leader)",
      labelNames: ["code"] as const,
      registers: [registry],
    });
    this.early = new Counter({
      name: "lagscale_report_early_evaluations_total",
      help: "Evaluations started at once by a report whose lag calls for more replicas",
      labelNames: ["reason"] as const,
      registers: [registry],
    });
    if (store) {
      new Gauge({
        name: "lagscale_report_pod_state",
        help: "1 for the state of each pod's latest fresh report (busy, idle, stalled, rebalancing), per ScaledObject; its lag in lagscale_report_pod_lag",
        labelNames: ["scaledobject", "pod", "state"] as const,
        registers: [registry],
        collect() {
          this.reset();
          const t = now();
          for (const [key, kept] of store.entries(t)) {
            if (!isFresh(kept, t)) continue;
            for (const state of POD_STATES) {
              this.set(
                { scaledobject: key, pod: kept.report.pod.name, state },
                state === kept.report.state ? 1 : 0,
              );
            }
          }
        },
      });
      new Gauge({
        name: "lagscale_report_pod_lag",
        help: "The lag each pod's latest fresh report gives for its assigned partitions, per ScaledObject",
        labelNames: ["scaledobject", "pod"] as const,
        registers: [registry],
        collect() {
          this.reset();
          const t = now();
          for (const [key, kept] of store.entries(t)) {
            if (isFresh(kept, t)) this.set({ scaledobject: key, pod: kept.report.pod.name }, kept.report.lag);
          }
        },
      });
    }
  }

  reply(code: number): void {
    this.received.inc({ code: String(code) });
  }

  earlyEvaluation(reason: EarlyReason): void {
    this.early.inc({ reason });
  }
}
