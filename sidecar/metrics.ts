/**
 * The sidecar's Prometheus metrics (prom-client, its own registry): reports pushed by outcome and status,
 * Kafka requests by API and per reading, the pod's lag, state and stalled partitions, and the age of the
 * last report the controller accepted.
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { ReportedPodState } from "../core/reports/schema.js";

/**
 * The schema's POD_STATES without loading its runtime validator; a Record keyed by the schema's type, so a
 * state added there fails to compile here until it is added.
 */
const STATES: Record<ReportedPodState, true> = { busy: true, idle: true, stalled: true, rebalancing: true };
const POD_STATES = Object.keys(STATES) as ReportedPodState[];

export class SidecarMetrics {
  readonly registry = new Registry();
  private readonly sent: Counter<"status">;
  private readonly failed: Counter<"status">;
  private readonly kafkaRequests: Counter<"api">;
  private readonly kafkaRequestsPerReading: Gauge;
  private readonly kafkaErrors: Counter;
  private readonly lag: Gauge;
  private readonly state: Gauge<"state">;
  private readonly stalled: Gauge;

  constructor(lastAccepted: () => number | undefined, now: () => number = Date.now) {
    const registers = [this.registry];
    this.sent = new Counter({
      name: "lagscale_sidecar_reports_sent_total",
      help: "Reports the controller accepted, by HTTP status",
      labelNames: ["status"],
      registers,
    });
    this.failed = new Counter({
      name: "lagscale_sidecar_reports_failed_total",
      help: "Report pushes that failed, by HTTP status (0: no answer)",
      labelNames: ["status"],
      registers,
    });
    this.kafkaRequests = new Counter({
      name: "lagscale_sidecar_kafka_requests_total",
      help: "Kafka requests sent, by API",
      labelNames: ["api"],
      registers,
    });
    this.kafkaRequestsPerReading = new Gauge({
      name: "lagscale_sidecar_kafka_requests_per_reading",
      help: "Kafka requests the last reading of the pod's partitions took",
      registers,
    });
    this.kafkaErrors = new Counter({
      name: "lagscale_sidecar_kafka_errors_total",
      help: "Readings that failed because Kafka could not be read",
      registers,
    });
    this.lag = new Gauge({
      name: "lagscale_sidecar_lag",
      help: "The pod's lag (sum over its partitions)",
      registers,
    });
    this.state = new Gauge({
      name: "lagscale_sidecar_state",
      help: "The pod's state: 1 for the current one",
      labelNames: ["state"],
      registers,
    });
    this.stalled = new Gauge({
      name: "lagscale_sidecar_stalled_partitions",
      help: "Partitions of the pod that are stalled",
      registers,
    });
    new Gauge({
      name: "lagscale_sidecar_last_report_age_seconds",
      help: "Seconds since the controller last accepted a report (absent before the first)",
      registers,
      collect() {
        const at = lastAccepted();
        if (at === undefined) this.reset();
        else this.set((now() - at) / 1000);
      },
    });
  }

  pushed(status: number, ok: boolean): void {
    (ok ? this.sent : this.failed).inc({ status: String(status) });
  }

  /** Adds the requests of one reading (a difference of cumulative counts by API). */
  reading(requests: Readonly<Record<string, number>>): void {
    let total = 0;
    for (const [api, n] of Object.entries(requests)) {
      if (n <= 0) continue;
      this.kafkaRequests.inc({ api }, n);
      total += n;
    }
    this.kafkaRequestsPerReading.set(total);
  }

  kafkaError(): void {
    this.kafkaErrors.inc();
  }

  classified(state: ReportedPodState, lag: number, stalledPartitions: number): void {
    this.lag.set(lag);
    for (const s of POD_STATES) this.state.set({ state: s }, s === state ? 1 : 0);
    this.stalled.set(stalledPartitions);
  }
}
