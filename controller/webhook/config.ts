/**
 * The webhook configurations, for the chart and for tests. The ValidatingWebhookConfiguration sends
 * lagscale's objects to the webhook server, like KEDA's: failurePolicy Ignore (lagscale being down never
 * blocks anyone), a 10 s timeout, no side effects, AdmissionReview v1, CREATE and UPDATE only. The
 * MutatingWebhookConfiguration sends the CREATE of pods that opt in (label `lagscale.io/inject=enabled`)
 * to `/mutate-pod`; see renderMutatingWebhookConfiguration for its settings.
 */
import { API_GROUP, API_VERSION } from "../../core/crd/index.js";
import { INJECT_KEY } from "../inject/optin.js";
import { MUTATE_POD_PATH, WEBHOOK_PATHS, type ValidatedKind } from "./server.js";

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

/** Where the API server sends one webhook's requests: the Service or the URL, with the path, and the CA. */
function clientConfig(what: string, options: WebhookConfigOptions, path: string) {
  if ((options.service === undefined) === (options.url === undefined)) {
    throw new Error(`${what}: give exactly one of service and url`);
  }
  const caBundle = Buffer.from(options.caBundle).toString("base64");
  return options.service
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
}

function metadata(options: WebhookConfigOptions, name: string) {
  return { name: options.name ?? name, ...(options.labels ? { labels: options.labels } : {}) };
}

/** The ValidatingWebhookConfiguration object (admissionregistration.k8s.io/v1), ready to create or apply. */
export function renderValidatingWebhookConfiguration(options: WebhookConfigOptions) {
  const webhooks = (Object.keys(WEBHOOK_PATHS) as ValidatedKind[]).map((kind) => {
    const path = WEBHOOK_PATHS[kind];
    return {
      name: webhookName(kind),
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      failurePolicy: options.failurePolicy ?? "Ignore",
      matchPolicy: "Equivalent",
      timeoutSeconds: options.timeoutSeconds ?? 10,
      clientConfig: clientConfig("renderValidatingWebhookConfiguration", options, path),
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
    metadata: metadata(options, "lagscale-validating-webhook"),
    webhooks,
  };
}

/** The mutating webhook's name. */
export const INJECT_WEBHOOK_NAME = `inject.${API_GROUP}`;

/**
 * The injector's timeout: pods that opt in wait at most this long for their CREATE when lagscale hangs
 * (a refused connection fails at once). Its lookups are two or three GETs and are cut at 3 s
 * (InjectOptions.lookupTimeoutMs), so 5 s leaves room without holding up a rollout.
 */
export const INJECT_TIMEOUT_SECONDS = 5;

/** Namespaces never injected, besides lagscale's own. */
export const SYSTEM_NAMESPACES = ["kube-system", "kube-node-lease", "kube-public"] as const;

export interface MutatingWebhookConfigOptions extends Omit<WebhookConfigOptions, "namespaceSelector"> {
  /** lagscale's own namespace: its pods are never sent (no webhook call while lagscale itself starts). */
  ownNamespace: string;
  /** More namespaces to leave out. */
  excludeNamespaces?: string[];
}

/**
 * The MutatingWebhookConfiguration for the sidecar injector: pods CREATE, failurePolicy Ignore (a pod
 * starts without the sidecar when lagscale is down), INJECT_TIMEOUT_SECONDS, reinvocationPolicy IfNeeded
 * (the injection is idempotent, so a later webhook's change may call it again safely), only pods labelled
 * `lagscale.io/inject=enabled`, never in kube-system, kube-node-lease, kube-public or lagscale's namespace.
 */
export function renderMutatingWebhookConfiguration(options: MutatingWebhookConfigOptions) {
  const excluded = [
    ...new Set([...SYSTEM_NAMESPACES, options.ownNamespace, ...(options.excludeNamespaces ?? [])]),
  ];
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: metadata(options, "lagscale-sidecar-injector"),
    webhooks: [
      {
        name: INJECT_WEBHOOK_NAME,
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: options.failurePolicy ?? "Ignore",
        matchPolicy: "Equivalent",
        reinvocationPolicy: "IfNeeded",
        timeoutSeconds: options.timeoutSeconds ?? INJECT_TIMEOUT_SECONDS,
        clientConfig: clientConfig("renderMutatingWebhookConfiguration", options, MUTATE_POD_PATH),
        rules: [
          {
            operations: ["CREATE"],
            apiGroups: [""],
            apiVersions: ["v1"],
            resources: ["pods"],
            scope: "Namespaced",
          },
        ],
        objectSelector: { matchExpressions: [{ key: INJECT_KEY, operator: "In", values: ["enabled"] }] },
        namespaceSelector: {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: excluded }],
        },
      },
    ],
  };
}
