/**
 * The ScaledJob loop's and the dispatcher's Prometheus metrics, on the controller's registry, labelled by
 * namespace and scaledJob. Series of a ScaledJob that went away are deleted.
 */
import { Counter, Gauge, type Registry } from "prom-client";

const LABELS = ["namespace", "scaledJob"] as const;
type Labels = { namespace: string; scaledJob: string };

export class ScaledJobMetrics {
  private readonly queueLength: Gauge<(typeof LABELS)[number]>;
  private readonly running: Gauge<(typeof LABELS)[number]>;
  private readonly pending: Gauge<(typeof LABELS)[number]>;
  private readonly paused: Gauge<(typeof LABELS)[number]>;
  private readonly created: Counter<(typeof LABELS)[number]>;
  private readonly createFailures: Counter<(typeof LABELS)[number]>;
  private readonly deleted: Counter<(typeof LABELS)[number]>;
  private readonly errors: Counter<(typeof LABELS)[number]>;
  private readonly evaluations: Counter<(typeof LABELS)[number]>;
  private readonly blocked: Gauge<(typeof LABELS)[number]>;
  private readonly known = new Set<string>();

  constructor(registry: Registry) {
    const gauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: LABELS, registers: [registry] });
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: LABELS, registers: [registry] });
    this.queueLength = gauge(
      "lagscale_scaled_job_queue_length",
      "Combined queue length of the triggers (kafka: lag) at the last poll",
    );
    this.running = gauge(
      "lagscale_scaled_job_running_jobs",
      "Jobs of the ScaledJob not yet Complete or Failed",
    );
    this.pending = gauge("lagscale_scaled_job_pending_jobs", "Running Jobs none of whose pods has started");
    this.paused = gauge("lagscale_scaled_job_paused", "1 while the ScaledJob is paused, else 0");
    this.created = counter("lagscale_scaled_job_jobs_created_total", "Jobs the controller created");
    this.createFailures = counter(
      "lagscale_scaled_job_job_create_failures_total",
      "Job creations the API server refused (each attempt counted; per-message Jobs are retried)",
    );
    this.deleted = counter(
      "lagscale_scaled_job_jobs_deleted_total",
      "Jobs deleted by the history limits or a rollout",
    );
    this.errors = counter(
      "lagscale_scaled_job_errors_total",
      "Polls of the ScaledJob that ended in an error",
    );
    this.evaluations = counter("lagscale_scaled_job_evaluations_total", "Polls of the ScaledJob");
    this.blocked = gauge(
      "lagscale_scaled_job_dispatch_blocked",
      "Per-message dispatch: 1 while a message waits because its Job cannot be created, else 0",
    );
  }

  private labels(namespace: string, scaledJob: string): Labels {
    this.known.add(`${namespace}/${scaledJob}`);
    return { namespace, scaledJob };
  }

  poll(
    namespace: string,
    scaledJob: string,
    s: { paused: boolean; queueLength?: number; running?: number; pending?: number; error: boolean },
  ): void {
    const l = this.labels(namespace, scaledJob);
    this.evaluations.inc(l);
    this.paused.set(l, s.paused ? 1 : 0);
    if (s.queueLength !== undefined) this.queueLength.set(l, s.queueLength);
    if (s.running !== undefined) this.running.set(l, s.running);
    if (s.pending !== undefined) this.pending.set(l, s.pending);
    this.errors.inc(l, s.error ? 1 : 0);
  }

  jobsCreated(namespace: string, scaledJob: string, n: number): void {
    this.created.inc(this.labels(namespace, scaledJob), n);
  }

  createFailed(namespace: string, scaledJob: string): void {
    this.createFailures.inc(this.labels(namespace, scaledJob));
  }

  jobsDeleted(namespace: string, scaledJob: string, n: number): void {
    this.deleted.inc(this.labels(namespace, scaledJob), n);
  }

  dispatchBlocked(namespace: string, scaledJob: string, blocked: boolean): void {
    this.blocked.set(this.labels(namespace, scaledJob), blocked ? 1 : 0);
  }

  forget(namespace: string, scaledJob: string): void {
    this.known.delete(`${namespace}/${scaledJob}`);
    const l = { namespace, scaledJob };
    for (const m of [
      this.queueLength,
      this.running,
      this.pending,
      this.paused,
      this.created,
      this.createFailures,
      this.deleted,
      this.errors,
      this.evaluations,
      this.blocked,
    ])
      m.remove(l);
  }

  forgetAll(): void {
    for (const key of [...this.known]) {
      const i = key.indexOf("/");
      this.forget(key.slice(0, i), key.slice(i + 1));
    }
  }
}
