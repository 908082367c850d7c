/**
 * The ValidatingWebhookConfiguration that sends lagscale's objects to the webhook server, for the chart
 * and for tests. Like KEDA's: failurePolicy Ignore (lagscale being down never blocks anyone), a 10 s
 * timeout, no side effects, AdmissionReview v1, CREATE and UPDATE only.
 */
import { API_GROUP, API_VERSION } from "../../core/crd/index.js";
import { WEBHOOK_PATHS, type ValidatedKind } from "./server.js";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

export interface WebhookConfigOptions {
  /** metadata.name; default `lagscale-validating-webhook`. */
  name?: string;
  /** Reach the server through a Service (production) ... */
  service?: { namespace: string; name: string; port?: number };
  /** ... or at a base URL such as `https://127.0.0.1:9443` (the paths are appended). */
  url?: string;
  /** PEM of the CA that signed the server's certificate. */
  caBundle: string | Buffer;
  /** Default Ignore, as KEDA. */
  failurePolicy?: "Ignore" | "Fail";
  /** Default 10. */
  timeoutSeconds?: number;
  /** Limits the namespaced objects checked (cluster-scoped ones are always sent). */
  namespaceSelector?: LabelSelector;
  labels?: Record<string, string>;
}

const PLURALS: Record<ValidatedKind, string> = {
  ScaledObject: "scaledobjects",
  ScaledJob: "scaledjobs",
  TriggerAuthentication: "triggerauthentications",
  ClusterTriggerAuthentication: "clustertriggerauthentications",
};

/** The webhook names, e.g. `vscaledobject.lagscale.io` (KEDA's are `vscaledobject.kb.io`). */
export function webhookName(kind: ValidatedKind): string {
  return `v${kind.toLowerCase()}.${API_GROUP}`;
}

/** The ValidatingWebhookConfiguration object (admissionregistration.k8s.io/v1), ready to create or apply. */
export function renderValidatingWebhookConfiguration(options: WebhookConfigOptions) {
  if ((options.service === undefined) === (options.url === undefined)) {
    throw new Error("renderValidatingWebhookConfiguration: give exactly one of service and url");
  }
  const caBundle = Buffer.from(options.caBundle).toString("base64");
  const webhooks = (Object.keys(WEBHOOK_PATHS) as ValidatedKind[]).map((kind) => {
    const path = WEBHOOK_PATHS[kind];
    const clientConfig = options.service
      ? {
          service: {
            namespace: options.service.namespace,
            name: options.service.name,
            port: options.service.port ?? 443,
            path,
          },
          caBundle,
        }
      : { url: `${options.url!.replace(/\/+$/, "")}${path}`, caBundle };
    return {
      name: webhookName(kind),
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      failurePolicy: options.failurePolicy ?? "Ignore",
      matchPolicy: "Equivalent",
      timeoutSeconds: options.timeoutSeconds ?? 10,
      clientConfig,
      rules: [
        {
          operations: ["CREATE", "UPDATE"],
          apiGroups: [API_GROUP],
          apiVersions: [API_VERSION],
          resources: [PLURALS[kind]],
          scope: kind === "ClusterTriggerAuthentication" ? "Cluster" : "Namespaced",
        },
      ],
      ...(options.namespaceSelector ? { namespaceSelector: options.namespaceSelector } : {}),
    };
  });
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: {
      name: options.name ?? "lagscale-validating-webhook",
      ...(options.labels ? { labels: options.labels } : {}),
    },
    webhooks,
  };
}
