/** KEDA's webhook metrics (keda-semantics.md §5.2) under lagscale's prefix, and the injector's. */
import { Counter, type Registry } from "prom-client";

export interface WebhookMetrics {
  /** ScaledObjects validated, by namespace and action (create, update). */
  validations: Counter<"namespace" | "action">;
  /** Refusals by reason (KEDA's labels: incorrect-replicas, other-hpa, ...). */
  errors: Counter<"namespace" | "action" | "reason">;
  /** Pods seen by the mutating webhook, by what happened (injected, skipped, lookup-failed, ...). */
  injections: Counter<"result">;
}

const VALIDATIONS = "lagscale_webhook_scaled_object_validations_total";
const ERRORS = "lagscale_webhook_scaled_object_validation_errors_total";
const INJECTIONS = "lagscale_webhook_injections_total";

/** The counters on `registry`; the same ones when called again with the same registry. */
export function webhookMetrics(registry: Registry): WebhookMetrics {
  const validations =
    (registry.getSingleMetric(VALIDATIONS) as Counter<"namespace" | "action"> | undefined) ??
    new Counter({
      name: VALIDATIONS,
      help: "ScaledObjects checked by the validating webhook.",
      labelNames: ["namespace", "action"],
      registers: [registry],
    });
  const errors =
    (registry.getSingleMetric(ERRORS) as Counter<"namespace" | "action" | "reason"> | undefined) ??
    new Counter({
      name: ERRORS,
      help: "ScaledObjects refused by the validating webhook, by reason.",
      labelNames: ["namespace", "action", "reason"],
      registers: [registry],
    });
  const injections =
    (registry.getSingleMetric(INJECTIONS) as Counter<"result"> | undefined) ??
    new Counter({
      name: INJECTIONS,
      help: "Pods seen by the sidecar-injecting webhook, by result (injected, already-injected, not-requested, disabled, ignored, invalid-annotation, skipped, lookup-failed).",
      labelNames: ["result"],
      registers: [registry],
    });
  return { validations, errors, injections };
}
