/**
 * lagscale's controller installed on the local stack as a user's cluster runs it: a Deployment of replicas
 * (pods the pod runner runs from the image `lagscale/controller:dev`), leader election through a Lease, the
 * webhook Service that reaches every replica and the reports Service that reaches the leader alone (pods
 * labelled `lagscale.io/leader=true`), the admission webhook configurations pointing at the webhook Service,
 * and a serving certificate for both Services made at install time.
 *
 * Cluster-scoped objects carry the install's namespace in their names, and the webhook configurations only
 * cover the namespaces the install watches, so that tests running side by side on one stack keep out of each
 * other's way. The Helm chart is what users install; this is the same shape, built in code for the tests and
 * the demo.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { LEADER_LABEL } from "../../../controller/leader/pod-label.js";
import {
  renderMutatingWebhookConfiguration,
  renderValidatingWebhookConfiguration,
} from "../../../controller/webhook/config.js";
import { createCa, issueCert } from "../kube/pki.js";

export const CONTROLLER_IMAGE = "lagscale/controller:dev";
export const CONTROLLER_APP_LABEL = "app.kubernetes.io/name";
export const CONTROLLER_APP = "lagscale-controller";
export const WEBHOOK_SERVICE = "lagscale-webhook";
export const REPORTS_SERVICE = "lagscale-reports";
export const WEBHOOK_PORT = 9443;
export const REPORTS_PORT = 9444;
export const METRICS_PORT = 8080;
export const HEALTH_PORT = 8081;
const CERT_SECRET = "lagscale-serving-cert";
const CERT_DIR = "/tmp/k8s-webhook-server/serving-certs";

export interface ControllerInstallOptions {
  /** Where the controller, its Lease and its Services live. */
  namespace: string;
  /** Namespaces whose ScaledObjects it reconciles and whose pods its webhooks see. */
  watchNamespaces: string[];
  /** Default 2. */
  replicas?: number;
  /** PEM of the CA that signed the serving certificate (the webhook configurations' caBundle). */
  caPem: string;
  /** Default `lagscale/controller:dev`. */
  image?: string;
  /** Go durations of the leader election; defaults are the controller's. */
  leaseDuration?: string;
  renewDeadline?: string;
  retryPeriod?: string;
  logLevel?: string;
  /** No report receiver and no end-offset watch: lagscale polls Kafka every pollingInterval, as KEDA does. */
  pollingOnly?: boolean;
  /** More controller flags. */
  extraArgs?: string[];
}

type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> };

/** Names of the cluster-scoped objects of one install. */
export function clusterNames(namespace: string) {
  return {
    clusterRole: `lagscale-controller-${namespace}`,
    validating: `lagscale-validating-${namespace}`,
    mutating: `lagscale-mutating-${namespace}`,
  };
}

/** The namespaces the webhooks see: the watched ones, never the controller's own (it must start without them). */
function watchedNamespaceSelector(o: ControllerInstallOptions) {
  return {
    matchExpressions: [
      { key: "kubernetes.io/metadata.name", operator: "In" as const, values: o.watchNamespaces },
    ],
  };
}

/** What the controller does to the API server, and nothing more (docs/security.md). */
function clusterRole(name: string): Obj {
  const rw = ["get", "list", "watch", "update", "patch"];
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name },
    rules: [
      {
        apiGroups: ["lagscale.io"],
        resources: ["scaledobjects", "scaledjobs", "triggerauthentications", "clustertriggerauthentications"],
        verbs: rw,
      },
      {
        apiGroups: ["lagscale.io"],
        resources: [
          "scaledobjects/status",
          "scaledjobs/status",
          "scaledobjects/finalizers",
          "scaledjobs/finalizers",
        ],
        verbs: ["get", "update", "patch"],
      },
      {
        apiGroups: ["apps"],
        resources: ["deployments", "statefulsets", "replicasets"],
        verbs: ["get", "list", "watch"],
      },
      {
        apiGroups: ["apps"],
        resources: ["deployments/scale", "statefulsets/scale"],
        verbs: ["get", "update", "patch"],
      },
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "patch"] },
      { apiGroups: [""], resources: ["secrets", "configmaps"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "update"] },
      { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
      {
        apiGroups: ["batch"],
        resources: ["jobs"],
        verbs: ["get", "list", "watch", "create", "delete", "patch"],
      },
      { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["get", "list", "watch", "create", "update"],
      },
    ],
  };
}

/** Every object of one install, in apply order. */
export function renderControllerInstall(o: ControllerInstallOptions): Obj[] {
  const ns = o.namespace;
  const names = clusterNames(ns);
  const selector = { [CONTROLLER_APP_LABEL]: CONTROLLER_APP };
  const args = [
    "--bind-address=$(POD_IP)",
    `--metrics-port=${METRICS_PORT}`,
    `--health-port=${HEALTH_PORT}`,
    `--webhook-port=${WEBHOOK_PORT}`,
    `--reports-port=${REPORTS_PORT}`,
    `--cert-dir=${CERT_DIR}`,
    "--webhooks=on",
    ...(o.pollingOnly ? ["--reports=off", "--end-offset-watch-interval=0"] : ["--reports=https"]),
    "--leader-elect=true",
    // pods of the local stack share one network, and the pod runner maps this image to the sidecar's sources
    "--sidecar-bind-address=$(POD_IP)",
    "--sidecar-image=lagscale/sidecar:dev",
    ...(o.leaseDuration ? [`--lease-duration=${o.leaseDuration}`] : []),
    ...(o.renewDeadline ? [`--renew-deadline=${o.renewDeadline}`] : []),
    ...(o.retryPeriod ? [`--retry-period=${o.retryPeriod}`] : []),
    `--log-level=${o.logLevel ?? "debug"}`,
    ...(o.extraArgs ?? []),
  ];
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const probe = (p: string) => ({
    httpGet: { path: p, port: HEALTH_PORT },
    periodSeconds: 2,
    failureThreshold: 3,
  });
  const validating = renderValidatingWebhookConfiguration({
    name: names.validating,
    service: { namespace: ns, name: WEBHOOK_SERVICE, port: 443 },
    caBundle: o.caPem,
    namespaceSelector: watchedNamespaceSelector(o),
  });
  const mutating = {
    ...renderMutatingWebhookConfiguration({
      name: names.mutating,
      service: { namespace: ns, name: WEBHOOK_SERVICE, port: 443 },
      caBundle: o.caPem,
      ownNamespace: ns,
    }),
  };
  // only the watched namespaces, as for the validating webhook (the chart's selector excludes instead)
  for (const w of mutating.webhooks) {
    (w as { namespaceSelector: unknown }).namespaceSelector = watchedNamespaceSelector(o);
  }
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: CONTROLLER_APP, namespace: ns } },
    clusterRole(names.clusterRole),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: names.clusterRole },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: names.clusterRole },
      subjects: [{ kind: "ServiceAccount", name: CONTROLLER_APP, namespace: ns }],
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: CONTROLLER_APP, namespace: ns, labels: selector },
      spec: {
        replicas: o.replicas ?? 2,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: selector },
          spec: {
            serviceAccountName: CONTROLLER_APP,
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: "controller",
                image: o.image ?? CONTROLLER_IMAGE,
                args,
                env: [
                  fieldEnv("POD_NAME", "metadata.name"),
                  fieldEnv("POD_NAMESPACE", "metadata.namespace"),
                  fieldEnv("POD_IP", "status.podIP"),
                  { name: "WATCH_NAMESPACE", value: o.watchNamespaces.join(",") },
                ],
                ports: [
                  { name: "webhook", containerPort: WEBHOOK_PORT },
                  { name: "reports", containerPort: REPORTS_PORT },
                  { name: "metrics", containerPort: METRICS_PORT },
                  { name: "health", containerPort: HEALTH_PORT },
                ],
                readinessProbe: probe("/readyz"),
                livenessProbe: { ...probe("/healthz"), failureThreshold: 10 },
                volumeMounts: [{ name: "serving-cert", mountPath: CERT_DIR, readOnly: true }],
              },
            ],
            volumes: [{ name: "serving-cert", secret: { secretName: CERT_SECRET } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: WEBHOOK_SERVICE, namespace: ns },
      spec: { selector, ports: [{ name: "https", port: 443, targetPort: "webhook" }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: REPORTS_SERVICE, namespace: ns },
      spec: {
        selector: { ...selector, [LEADER_LABEL]: "true" },
        ports: [{ name: "reports", port: REPORTS_PORT, targetPort: "reports" }],
      },
    },
    validating as Obj,
    mutating as Obj,
  ];
}

/** A new CA and serving certificate for both Services (files in `dir`). */
export async function servingCertificate(
  dir: string,
  namespace: string,
): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  mkdirSync(dir, { recursive: true });
  const ca = await createCa(dir, "ca", `lagscale-${namespace}-ca`);
  const dnsNames = [WEBHOOK_SERVICE, REPORTS_SERVICE].flatMap((s) => [
    `${s}.${namespace}.svc`,
    `${s}.${namespace}.svc.cluster.local`,
  ]);
  const cert = await issueCert(dir, "serving", ca, { commonName: dnsNames[0]!, dnsNames, usage: "server" });
  return {
    caPem: readFileSync(ca.cert, "utf8"),
    certPem: readFileSync(cert.cert, "utf8"),
    keyPem: readFileSync(cert.key, "utf8"),
  };
}

/** The Secret the controller pods mount at their cert dir. */
export function certSecret(namespace: string, certPem: string, keyPem: string, caPem: string): Obj {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: CERT_SECRET, namespace },
    type: "kubernetes.io/tls",
    // ca.crt: the controller gives it to injected sidecars, which check the reports Service with it
    stringData: { "tls.crt": certPem, "tls.key": keyPem, "ca.crt": caPem },
  };
}

/** One YAML stream of the objects, for `kubectl apply -f`. */
export function toYamlStream(objects: object[], file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, objects.map((x) => YAML.stringify(x)).join("---\n"));
  return file;
}
