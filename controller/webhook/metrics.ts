/** KEDA's webhook metrics (keda-semantics.md §5.2) under lagscale's prefix. */
import { Counter, type Registry } from "prom-client";

export interface WebhookMetrics {
  /** ScaledObjects validated, by namespace and action (create, update). */
  validations: Counter<"namespace" | "action">;
  /** Refusals by reason (KEDA's labels: incorrect-replicas, other-hpa, ...). */
  errors: Counter<"namespace" | "action" | "reason">;
}

const VALIDATIONS = "lagscale_webhook_scaled_object_validations_total";
const ERRORS = "lagscale_webhook_scaled_object_validation_errors_total";

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
  return { validations, errors };
}
