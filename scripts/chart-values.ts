/**
 * The one source of the Helm chart's values: a TypeBox schema whose defaults, descriptions and bounds give
 * `charts/lagscale/values.schema.json` (Helm checks every install and upgrade against it) and the values
 * reference in `docs/chart.md` (scripts/gen-chart-values.ts writes both). `values.yaml` holds the same
 * defaults with comments; test/chart/values.test.ts fails when it drifts from this schema.
 *
 * Bounds follow the controller's flags (controller/config.ts): ports 0…65535 (0 is refused here, a Service
 * needs a real port), Go durations with ms, s, m or h, Kubernetes names.
 */
import { Type, type TSchema } from "@sinclair/typebox";
import { METRICS_NAMES } from "../controller/metrics-names.js";

const DURATION = "^(\\d+(\\.\\d+)?(ms|s|m|h))+$";
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

const port = (def: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 65535, default: def, description });
const duration = (def: string, description: string) =>
  Type.String({ pattern: DURATION, maxLength: 64, default: def, description });
const obj = <T extends Record<string, TSchema>>(props: T, description: string) =>
  Type.Object(props, { additionalProperties: false, description });
/** Kubernetes objects passed through as given (the API server checks them). */
const anyObject = (description: string, def: Record<string, unknown> = {}) =>
  Type.Record(Type.String(), Type.Unknown(), { default: def, description });
const anyList = (description: string) =>
  Type.Array(Type.Record(Type.String(), Type.Unknown()), { default: [], description });
const stringMap = (description: string, def: Record<string, string> = {}) =>
  Type.Record(Type.String(), Type.String(), { default: def, description });

const image = (repository: string, what: string) =>
  obj(
    {
      repository: Type.String({ minLength: 1, default: repository, description: `${what} image repository` }),
      tag: Type.String({ default: "", description: `${what} image tag; empty: the chart's appVersion` }),
    },
    `${what} image`,
  );

export const ChartValues = obj(
  {
    replicaCount: Type.Integer({
      minimum: 1,
      maximum: 10,
      default: 2,
      description:
        "controller pods; one leads (scales, receives reports), all serve the webhooks; 2 keeps the webhooks up through a pod's restart",
    }),
    image: obj(
      {
        ...image("lagscale/controller", "controller").properties,
        pullPolicy: Type.Union(
          [Type.Literal("Always"), Type.Literal("IfNotPresent"), Type.Literal("Never")],
          {
            default: "IfNotPresent",
            description: "imagePullPolicy of the controller",
          },
        ),
      },
      "controller image",
    ),
    imagePullSecrets: anyList("imagePullSecrets of the controller pods"),
    nameOverride: Type.String({
      default: "",
      maxLength: 40,
      description: "replaces the chart name in object names",
    }),
    fullnameOverride: Type.String({
      default: "",
      maxLength: 40,
      description: "replaces the release-derived prefix of object names",
    }),
    watchNamespaces: Type.Array(Type.String({ pattern: DNS_LABEL, maxLength: 63 }), {
      default: [],
      maxItems: 256,
      uniqueItems: true,
      description:
        "namespaces whose ScaledObjects and ScaledJobs lagscale reconciles and whose objects and pods the webhooks see; empty: all. When set, Secrets and ConfigMaps are readable only there and in the release namespace",
    }),
    bindAddress: Type.String({
      default: "0.0.0.0",
      minLength: 1,
      maxLength: 64,
      description:
        "address the controller's servers listen on (`--bind-address`); `$(POD_IP)` is expanded from the pod IP",
    }),
    logLevel: Type.Union(
      ["fatal", "error", "warn", "info", "debug", "trace"].map((l) => Type.Literal(l)),
      { default: "info", description: "controller log level (JSON lines)" },
    ),
    maxConcurrentReconciles: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 5,
      description: "ScaledObjects reconciled at once",
    }),
    endOffsetWatchInterval: Type.String({
      pattern: `^0$|${DURATION}`,
      maxLength: 64,
      default: "1s",
      description: "period of the log-end offset watch that scales up between polls; 0 turns it off",
    }),
    leaderElection: obj(
      {
        leaseDuration: duration("15s", "how long a leader is respected without renewing"),
        renewDeadline: duration("10s", "how long the leader tries to renew before it stops leading"),
        retryPeriod: duration("2s", "time between attempts to acquire or renew"),
      },
      "the Lease `<fullname>-controller` in the release namespace",
    ),
    ports: obj(
      {
        metrics: port(8080, "`/metrics`"),
        health: port(8081, "`/healthz`, `/readyz`"),
        webhook: port(9443, "admission webhooks (TLS)"),
        reports: port(9444, "sidecar report receiver (TLS), Service `<fullname>-reports`"),
      },
      "container ports",
    ),
    webhooks: obj(
      {
        enabled: Type.Boolean({
          default: true,
          description: "serve the admission webhooks and install their configurations",
        }),
        failurePolicy: Type.Union([Type.Literal("Ignore"), Type.Literal("Fail")], {
          default: "Ignore",
          description: "of both configurations; Ignore: a lagscale outage never blocks anyone",
        }),
        timeoutSeconds: Type.Integer({
          minimum: 1,
          maximum: 30,
          default: 10,
          description: "of the validating webhooks",
        }),
        inject: obj(
          {
            enabled: Type.Boolean({
              default: true,
              description:
                "install the mutating webhook that adds the sidecar to pods labelled `lagscale.io/inject=enabled`",
            }),
            timeoutSeconds: Type.Integer({
              minimum: 1,
              maximum: 30,
              default: 5,
              description: "of the mutating webhook",
            }),
            excludeNamespaces: Type.Array(Type.String({ pattern: DNS_LABEL, maxLength: 63 }), {
              default: [],
              maxItems: 256,
              description:
                "more namespaces never injected (the release namespace, kube-system, kube-node-lease and kube-public always are)",
            }),
          },
          "sidecar injection",
        ),
      },
      "admission webhooks",
    ),
    sidecar: obj(
      {
        image: image("lagscale/sidecar", "injected sidecar"),
        bindAddress: Type.String({
          default: "",
          maxLength: 64,
          description:
            "LAGSCALE_BIND_ADDRESS of injected sidecars; empty: the sidecar's default (all addresses); `$(POD_IP)` where pods share a network",
        }),
      },
      "the sidecar the mutating webhook injects",
    ),
    reports: obj(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            "serve the sidecar report receiver over TLS on the leader (Service `<fullname>-reports`)",
        }),
      },
      "sidecar reports",
    ),
    certificates: obj(
      {
        validityDays: Type.Integer({
          minimum: 1,
          maximum: 36500,
          default: 3650,
          description: "of the CA and serving certificate the chart generates (kept across upgrades)",
        }),
        certManager: obj(
          {
            enabled: Type.Boolean({
              default: false,
              description:
                "let cert-manager issue the serving certificate (a self-signed CA Issuer in the release namespace) and inject the CA into the webhook configurations",
            }),
            duration: duration("8760h", "serving certificate lifetime"),
            renewBefore: duration("720h", "renew this long before expiry"),
          },
          "cert-manager instead of chart-generated certificates",
        ),
      },
      "the serving certificate of the webhook and report Services (Secret `<fullname>-serving-cert`)",
    ),
    serviceAccount: obj(
      {
        create: Type.Boolean({ default: true, description: "create the ServiceAccount" }),
        name: Type.String({
          default: "",
          maxLength: 253,
          description: "its name; empty: `<fullname>-controller`",
        }),
        annotations: stringMap("its annotations"),
      },
      "the controller's ServiceAccount",
    ),
    rbac: obj(
      { create: Type.Boolean({ default: true, description: "create the ClusterRole, Roles and bindings" }) },
      "RBAC",
    ),
    podDisruptionBudget: obj(
      {
        enabled: Type.Boolean({ default: true, description: "create a PodDisruptionBudget" }),
        minAvailable: Type.Integer({
          minimum: 0,
          default: 1,
          description: "pods kept through voluntary disruptions",
        }),
      },
      "PodDisruptionBudget of the controller pods",
    ),
    resources: anyObject("controller container resources", {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "1", memory: "512Mi" },
    }),
    podSecurityContext: anyObject("pod securityContext", {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    }),
    securityContext: anyObject("controller container securityContext", {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    }),
    podAnnotations: stringMap("annotations of the controller pods"),
    podLabels: stringMap("more labels of the controller pods"),
    nodeSelector: stringMap("nodeSelector of the controller pods"),
    tolerations: anyList("tolerations of the controller pods"),
    affinity: anyObject("affinity of the controller pods"),
    topologySpreadConstraints: anyList("topologySpreadConstraints of the controller pods"),
    priorityClassName: Type.String({
      default: "",
      maxLength: 253,
      description: "priorityClassName of the controller pods",
    }),
    terminationGracePeriodSeconds: Type.Integer({
      minimum: 30,
      maximum: 3600,
      default: 30,
      description: "the controller stops within 25 s of SIGTERM (lease released)",
    }),
    extraArgs: Type.Array(Type.String({ pattern: "^--[a-z][-a-z]*(=.*)?$", maxLength: 4096 }), {
      default: [],
      description:
        "more controller flags (`npm run controller -- --help`); a flag the chart already sets is refused by the controller as given twice",
    }),
    env: anyList("more env of the controller container"),
    networkPolicy: obj(
      {
        enabled: Type.Boolean({
          default: false,
          description: "admit to the controller pods only their four ports (docs/security.md, NetworkPolicy)",
        }),
        webhookFrom: anyList(
          "NetworkPolicy peers allowed to the webhook port (the API server); empty: any source, as the API server's address cannot be named on most clusters",
        ),
        healthFrom: anyList("peers allowed to the health port (the kubelet); empty: any source"),
        metricsFrom: anyList("peers allowed to the metrics port (your Prometheus); empty: any source"),
        reportsFrom: anyList(
          "peers allowed to the report port (namespaces of consumers with the sidecar); empty: any source",
        ),
      },
      "a NetworkPolicy of the controller pods",
    ),
    metrics: obj(
      {
        names: Type.Union(
          METRICS_NAMES.map((n) => Type.Literal(n)),
          {
            default: "lagscale",
            description:
              "`--metrics-names`: the families KEDA also has under `lagscale_` names, KEDA's `keda_` names, or both",
          },
        ),
        serviceMonitor: obj(
          {
            enabled: Type.Boolean({
              default: false,
              description: "create a ServiceMonitor (needs the Prometheus operator's CRDs)",
            }),
            interval: duration("30s", "scrape interval"),
            scrapeTimeout: duration("10s", "scrape timeout"),
            additionalLabels: stringMap("labels your Prometheus selects ServiceMonitors by"),
          },
          "Prometheus operator ServiceMonitor of every controller pod's `/metrics`",
        ),
        dashboard: obj(
          {
            enabled: Type.Boolean({
              default: false,
              description: "create a ConfigMap holding a Grafana dashboard of lagscale's metrics",
            }),
            labels: stringMap("labels Grafana's dashboard sidecar looks for", { grafana_dashboard: "1" }),
          },
          "Grafana dashboard",
        ),
      },
      "metrics (Service `<fullname>-metrics` on every controller pod)",
    ),
  },
  "values of the lagscale chart",
);
