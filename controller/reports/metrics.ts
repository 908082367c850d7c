/** The report receiver's metrics: reports by answer code, and the early evaluations they started. */
import { Counter, type Registry } from "prom-client";
import type { EarlyReason } from "../../core/scaling/early.js";

export class ReportMetrics {
  private readonly received: Counter<"code">;
  private readonly early: Counter<"reason">;

  constructor(registry: Registry) {
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
  }

  reply(code: number): void {
    this.received.inc({ code: String(code) });
  }

  earlyEvaluation(reason: EarlyReason): void {
    this.early.inc({ reason });
  }
}
