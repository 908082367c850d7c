/**
 * The controller's settings: command-line flags first, then environment variables, then defaults (KEDA's
 * operator ports and client-go's leader-election timing). Every problem is reported at once, each naming the
 * flag or variable and what would be accepted, so that a person can fix a Deployment in one go.
 *
 * Nothing is clamped in silence: a value out of its bounds (a port above 65535, a duration above an hour or
 * below 100 ms, a name that is not a Kubernetes name), an empty `--flag=`, a flag given twice, an unknown
 * flag or a value longer than MAX_VALUE_CHARS is an error; the value is quoted, cut, in the message.
 *
 *   npm run controller -- --kubeconfig .lagscale/kubeconfig --leader-elect=false
 */
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import type { LevelWithSilent } from "pino";
import { isImageReference } from "./inject/optin.js";
import { buildInfo } from "./metrics.js";
import { METRICS_NAMES, type MetricsNames } from "./metrics-names.js";

export interface LeaderElectionConfig {
  enabled: boolean;
  /** Lease name (KEDA: `operator.keda.sh`, flag --leader-election-id). */
  leaseName: string;
  leaseNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface WebhookConfig {
  /** `auto`: serve webhooks when the certificate files exist, otherwise log why not. */
  mode: "auto" | "on" | "off";
  port: number;
  certDir: string;
  certFile: string;
  keyFile: string;
}

export interface ReportsConfig {
  /** `https` (the webhook's certificate), `http` (local stack only) or `off`. */
  mode: "https" | "http" | "off";
  /** 0 picks a free port (logged). */
  port: number;
}

/** Controller-wide defaults of the injected sidecar (pods may override the image, docs/injection.md). */
export interface InjectConfig {
  sidecarImage: string;
  /** Where injected sidecars send their reports. */
  reportUrl: string;
  /** LAGSCALE_BIND_ADDRESS of injected sidecars; undefined: the sidecar's default (all addresses). */
  bindAddress: string | undefined;
  /** The CA file whose PEM injected sidecars trust for reportUrl; undefined: `<cert-dir>/ca.crt` if it exists. */
  reportCaFile: string | undefined;
}

export const LAG_READERS = ["shared", "per-trigger"] as const;
export type LagReaderKind = (typeof LAG_READERS)[number];

export interface ControllerConfig {
  /** A kubeconfig file; undefined: KUBECONFIG, ~/.kube/config or the in-cluster service account. */
  kubeconfig: string | undefined;
  /** Namespaces to watch; undefined: all. */
  watchNamespaces: string[] | undefined;
  bindAddress: string;
  /** `/metrics` (KEDA 8080). 0 picks a free port (logged). */
  metricsPort: number;
  /** `/healthz` and `/readyz` (KEDA 8081). May equal metricsPort: then one server serves all three. */
  healthPort: number;
  /** Names on /metrics: lagscale_ (default), KEDA's (keda_, for KEDA's dashboards and alerts) or both. */
  metricsNames: MetricsNames;
  webhook: WebhookConfig;
  /** The sidecar report receiver (POST /v1/reports). */
  reports: ReportsConfig;
  leaderElection: LeaderElectionConfig;
  podName: string | undefined;
  podNamespace: string | undefined;
  logLevel: LevelWithSilent;
  /** ScaledObjects reconciled at once (KEDA_SCALEDOBJECT_CTRL_MAX_RECONCILES, default 5). */
  maxConcurrentReconciles: number;
  /** How long SIGTERM may take before the process exits anyway (below the pod's grace period). */
  shutdownTimeoutMs: number;
  /** Period of the end-offset watch (scale-up between polls, docs/reaction.md); 0 turns it off. */
  endOffsetWatchIntervalMs: number;
  /** One Kafka client per cluster shared by every trigger, or one per trigger (KEDA's way, docs/scale.md). */
  lagReader: LagReaderKind;
  inject: InjectConfig;
}

export type ConfigResult =
  | { ok: true; config: ControllerConfig; help: false }
  | { ok: true; help: true }
  | { ok: false; errors: string[] };

interface FlagSpec {
  env?: string;
  /** Boolean flags may be given without a value. */
  boolean?: boolean;
  help: string;
}

const FLAGS: Record<string, FlagSpec> = {
  kubeconfig: {
    env: "KUBECONFIG",
    help: "kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)",
  },
  "watch-namespace": { env: "WATCH_NAMESPACE", help: "comma-separated namespaces to watch (default: all)" },
  "bind-address": { env: "LAGSCALE_BIND_ADDRESS", help: "address the HTTP servers listen on (0.0.0.0)" },
  "metrics-port": { env: "LAGSCALE_METRICS_PORT", help: "port of /metrics (8080; 0 = any free port)" },
  "metrics-names": {
    env: "LAGSCALE_METRICS_NAMES",
    help: "lagscale|keda|both: names of the metrics KEDA also has, lagscale_ or KEDA's keda_ (lagscale)",
  },
  "health-port": { env: "LAGSCALE_HEALTH_PORT", help: "port of /healthz and /readyz (8081; 0 = any)" },
  webhooks: { env: "LAGSCALE_WEBHOOKS", help: "auto|on|off: serve the admission webhooks (auto)" },
  "webhook-port": { env: "LAGSCALE_WEBHOOK_PORT", help: "port of the webhook server (9443)" },
  "cert-dir": {
    env: "LAGSCALE_CERT_DIR",
    help: "folder with tls.crt and tls.key for the webhooks (/tmp/k8s-webhook-server/serving-certs)",
  },
  reports: {
    env: "LAGSCALE_REPORTS",
    help: "https|http|off: serve the sidecar report receiver; https uses --cert-dir, http is for the local stack (https)",
  },
  "reports-port": {
    env: "LAGSCALE_REPORTS_PORT",
    help: "port of the report receiver (9444; 0 = any free port)",
  },
  "leader-elect": {
    env: "LAGSCALE_LEADER_ELECT",
    boolean: true,
    help: "elect a leader through a Lease; only the leader scales (true)",
  },
  "leader-election-id": {
    env: "LAGSCALE_LEADER_ELECTION_ID",
    help: "name of the Lease (lagscale-controller)",
  },
  "leader-election-namespace": {
    env: "LAGSCALE_LEADER_ELECTION_NAMESPACE",
    help: "namespace of the Lease (default: POD_NAMESPACE, the service account's namespace, else default)",
  },
  "lease-duration": {
    env: "LAGSCALE_LEADER_ELECTION_LEASE_DURATION",
    help: "Go duration a leader is respected without renewing (15s)",
  },
  "renew-deadline": {
    env: "LAGSCALE_LEADER_ELECTION_RENEW_DEADLINE",
    help: "Go duration the leader keeps trying to renew before it stops leading (10s)",
  },
  "retry-period": {
    env: "LAGSCALE_LEADER_ELECTION_RETRY_PERIOD",
    help: "Go duration between attempts to acquire or renew (2s)",
  },
  "max-concurrent-reconciles": {
    env: "LAGSCALE_SCALEDOBJECT_CTRL_MAX_RECONCILES",
    help: "ScaledObjects reconciled at once (5)",
  },
  "shutdown-timeout": {
    env: "LAGSCALE_SHUTDOWN_TIMEOUT",
    help: "Go duration SIGTERM may take before the process exits anyway (25s)",
  },
  "end-offset-watch-interval": {
    env: "LAGSCALE_END_OFFSET_WATCH_INTERVAL",
    help: "Go duration between reads of the watched topics' log-end offsets; 0 turns the watch off (1s)",
  },
  "lag-reader": {
    env: "LAGSCALE_LAG_READER",
    help: "shared|per-trigger: one Kafka client per cluster for every trigger, or one per trigger as KEDA has, for comparison only (shared)",
  },
  "sidecar-image": {
    env: "LAGSCALE_SIDECAR_IMAGE",
    help: "image of injected sidecars (lagscale/sidecar:<this version>)",
  },
  "sidecar-report-url": {
    env: "LAGSCALE_SIDECAR_REPORT_URL",
    help: "where injected sidecars report (https://lagscale-reports.<POD_NAMESPACE>.svc:9444/v1/reports)",
  },
  "sidecar-bind-address": {
    env: "LAGSCALE_SIDECAR_BIND_ADDRESS",
    help: "address injected sidecars listen on, an IP or $(POD_IP) where pods share a network (the sidecar's default)",
  },
  "sidecar-report-ca-file": {
    env: "LAGSCALE_SIDECAR_REPORT_CA_FILE",
    help: "PEM of the CA injected sidecars trust for the report URL (<cert-dir>/ca.crt when it exists, else the system roots)",
  },
  "log-level": { env: "LOG_LEVEL", help: "fatal|error|warn|info|debug|trace|silent (info)" },
  help: { boolean: true, help: "print this help" },
};

export function usage(): string {
  const lines = ["Usage: npm run controller -- [flags]", "", "Flags (environment variable in brackets):"];
  for (const [name, spec] of Object.entries(FLAGS)) {
    lines.push(`  --${name.padEnd(28)}${spec.help}${spec.env ? ` [${spec.env}]` : ""}`);
  }
  lines.push(
    "",
    "Also read: POD_NAME, POD_NAMESPACE (the pod's own name and namespace, from the downward API).",
  );
  return lines.join("\n");
}

/** No flag or variable needs more; a longer one is refused before it is parsed or echoed. */
export const MAX_VALUE_CHARS = 4096;
/**
 * Durations are timers (lease, renew, retry, shutdown): far below Node's 24.8-day timer limit, and above
 * what would make the leader election spin against the API server.
 */
export const MIN_DURATION_MS = 100;
export const MAX_DURATION_MS = 60 * 60 * 1000;
/** Namespaces in WATCH_NAMESPACE: each one is a watch per resource type. */
export const MAX_WATCH_NAMESPACES = 256;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A value as it appears in an error message: quoted, control characters escaped, at most 80 characters. */
function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

const LOG_LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const DURATION_SYNTAX = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

/** Go's time.ParseDuration for the units that make sense here (ms, s, m, h): `15s`, `1m30s`, `1.5s`, `500ms`. */
export function parseDuration(raw: string): number | undefined {
  const s = raw.trim();
  if (s === "0") return 0;
  if (!DURATION_SYNTAX.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNITS[m[2]!]!;
  // Hundreds of digits overflow to Infinity: not a duration anyone meant.
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

function parseBool(raw: string): boolean | undefined {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(raw)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(raw)) return false;
  return undefined;
}

/**
 * Reads the flags into name → value (booleans given bare become "true"). Unknown flags, flags given twice,
 * empty values (`--name=`) and values over MAX_VALUE_CHARS are errors.
 */
function readFlags(argv: readonly string[], errors: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      errors.push(`unexpected argument ${shown(arg)}: flags are --name value or --name=value`);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = Object.hasOwn(FLAGS, name) ? FLAGS[name] : undefined;
    if (!spec) {
      const flag = /^[\w-]{1,64}$/.test(name) ? `--${name}` : shown(`--${name}`);
      errors.push(`unknown flag ${flag} (see --help)`);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (spec.boolean) value = "true";
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) value = argv[++i]!;
    else {
      errors.push(`flag --${name} needs a value`);
      continue;
    }
    if (out.has(name)) {
      errors.push(
        `flag --${name} is given twice (${shown(out.get(name)!)} and ${shown(value)}): give it once`,
      );
      continue;
    }
    if (value.trim() === "") {
      errors.push(`flag --${name} is empty: give a value, or leave the flag out for the default`);
      continue;
    }
    if (value.length > MAX_VALUE_CHARS) {
      errors.push(`flag --${name} is ${value.length} characters long; the limit is ${MAX_VALUE_CHARS}`);
      continue;
    }
    out.set(name, value);
  }
  return out;
}

/** The service account's namespace when running in a pod (or under the local pod runner). */
function inClusterNamespace(env: NodeJS.ProcessEnv): string | undefined {
  const dir = env.LAGSCALE_SERVICEACCOUNT_DIR?.trim() || "/var/run/secrets/kubernetes.io/serviceaccount";
  try {
    return readFileSync(path.join(dir, "namespace"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Parses flags and environment. `--help` returns `{help: true}`. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ConfigResult {
  const errors: string[] = [];
  const flags = readFlags(argv, errors);
  if (flags.has("help") && parseBool(flags.get("help")!) !== false) return { ok: true, help: true };
  for (const [name, spec] of Object.entries(FLAGS)) {
    const v = spec.env ? env[spec.env] : undefined;
    if (spec.env && v !== undefined && v.length > MAX_VALUE_CHARS) {
      errors.push(`${spec.env} is ${v.length} characters long; the limit is ${MAX_VALUE_CHARS}`);
      flags.delete(name);
    }
  }

  const get = (name: string): { value: string; source: string } | undefined => {
    const flag = flags.get(name);
    if (flag !== undefined) return { value: flag, source: `--${name}` };
    const envName = FLAGS[name]?.env;
    const fromEnv = envName ? env[envName] : undefined;
    if (envName && fromEnv !== undefined && fromEnv.trim() !== "" && fromEnv.length <= MAX_VALUE_CHARS) {
      return { value: fromEnv, source: envName };
    }
    return undefined;
  };
  const str = (name: string, def: string): string => get(name)?.value.trim() || def;
  const port = (name: string, def: number): number => {
    const v = get(name);
    if (!v) return def;
    const n = Number(v.value.trim());
    if (!/^\d{1,5}$/.test(v.value.trim()) || n > 65535) {
      errors.push(`${v.source}=${shown(v.value)}: must be a port number from 0 to 65535`);
      return def;
    }
    return n;
  };
  const duration = (name: string, defMs: number): number => {
    const v = get(name);
    if (!v) return defMs;
    const ms = parseDuration(v.value);
    if (ms === undefined && DURATION_SYNTAX.test(v.value.trim())) {
      errors.push(`${v.source}=${shown(v.value)}: must be from 100ms to 1h`); // too many digits to add up
      return defMs;
    }
    if (ms === undefined || ms <= 0) {
      errors.push(
        `${v.source}=${shown(v.value)}: must be a positive Go duration such as 15s, 1500ms or 1m30s`,
      );
      return defMs;
    }
    if (ms < MIN_DURATION_MS || ms > MAX_DURATION_MS) {
      errors.push(`${v.source}=${shown(v.value)}: must be from 100ms to 1h`);
      return defMs;
    }
    return ms;
  };
  const bool = (name: string, def: boolean): boolean => {
    const v = get(name);
    if (!v) return def;
    const b = parseBool(v.value.trim());
    if (b === undefined) {
      errors.push(`${v.source}=${shown(v.value)}: must be true or false`);
      return def;
    }
    return b;
  };

  const name = (flag: string, what: string, pattern: RegExp, max: number, def: string): string => {
    const v = get(flag);
    if (!v) return def;
    const value = v.value.trim();
    if (value.length > max || !pattern.test(value)) {
      errors.push(`${v.source}=${shown(v.value)}: must be ${what}`);
      return def;
    }
    return value;
  };

  const kubeconfig = flags.get("kubeconfig")?.trim() || undefined;
  if (kubeconfig !== undefined && !existsSync(kubeconfig)) {
    errors.push(
      `--kubeconfig ${kubeconfig}: no such file (the local stack writes .lagscale/kubeconfig: npm run stack -- up)`,
    );
  }
  const nsFrom = get("watch-namespace");
  const nsRaw = nsFrom?.value ?? "";
  const namespaces = [
    ...new Set(
      nsRaw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    ),
  ];
  const nsSource = nsFrom?.source ?? "WATCH_NAMESPACE";
  if (namespaces.length > MAX_WATCH_NAMESPACES) {
    errors.push(
      `${nsSource}: ${namespaces.length} namespaces; the limit is ${MAX_WATCH_NAMESPACES} (leave it empty to watch all)`,
    );
  } else {
    for (const ns of namespaces) {
      if (!DNS_LABEL.test(ns) || ns.length > 63) {
        errors.push(`${nsSource}: ${shown(ns)} is not a namespace name (lower-case DNS label)`);
      }
    }
  }

  // From the downward API; checked because they name the Lease holder, Events and the leader label.
  const podName = env.POD_NAME?.trim() || undefined;
  const podNamespace = env.POD_NAMESPACE?.trim() || undefined;
  if (podName !== undefined && (podName.length > 253 || !DNS_SUBDOMAIN.test(podName))) {
    errors.push(`POD_NAME=${shown(podName)}: must be a pod name (lower-case DNS subdomain, at most 253)`);
  }
  if (podNamespace !== undefined && (podNamespace.length > 63 || !DNS_LABEL.test(podNamespace))) {
    errors.push(`POD_NAMESPACE=${shown(podNamespace)}: must be a namespace name (lower-case DNS label)`);
  }

  const modeRaw = str("webhooks", "auto");
  let mode: WebhookConfig["mode"] = "auto";
  if (modeRaw === "auto" || modeRaw === "on" || modeRaw === "off") mode = modeRaw;
  else errors.push(`--webhooks=${shown(modeRaw)}: must be auto, on or off`);
  const certDir = str("cert-dir", "/tmp/k8s-webhook-server/serving-certs");
  const webhook: WebhookConfig = {
    mode,
    port: port("webhook-port", 9443),
    certDir,
    certFile: path.join(certDir, "tls.crt"),
    keyFile: path.join(certDir, "tls.key"),
  };
  if (mode === "on") {
    for (const f of [webhook.certFile, webhook.keyFile]) {
      if (!existsSync(f)) {
        errors.push(
          `--webhooks=on: ${f} does not exist (give --cert-dir, or --webhooks=off to run without them)`,
        );
      }
    }
  }

  const reportsRaw = str("reports", "https");
  const reports: ReportsConfig = { mode: "https", port: port("reports-port", 9444) };
  if (reportsRaw === "https" || reportsRaw === "http" || reportsRaw === "off") reports.mode = reportsRaw;
  else
    errors.push(`${get("reports")?.source ?? "--reports"}=${shown(reportsRaw)}: must be https, http or off`);

  const leaderElection: LeaderElectionConfig = {
    enabled: bool("leader-elect", true),
    leaseName: name(
      "leader-election-id",
      "a Lease name (lower-case DNS subdomain, at most 253)",
      DNS_SUBDOMAIN,
      253,
      "lagscale-controller",
    ),
    leaseNamespace: name(
      "leader-election-namespace",
      "a namespace name (lower-case DNS label)",
      DNS_LABEL,
      63,
      podNamespace ?? inClusterNamespace(env) ?? "default",
    ),
    leaseDurationMs: duration("lease-duration", 15_000),
    renewDeadlineMs: duration("renew-deadline", 10_000),
    retryPeriodMs: duration("retry-period", 2_000),
  };
  const le = leaderElection;
  if (le.enabled) {
    if (le.leaseDurationMs <= le.renewDeadlineMs) {
      errors.push(
        `leader election: lease duration (${le.leaseDurationMs} ms) must be greater than the renew deadline (${le.renewDeadlineMs} ms)`,
      );
    }
    if (le.renewDeadlineMs <= 1.2 * le.retryPeriodMs) {
      errors.push(
        `leader election: renew deadline (${le.renewDeadlineMs} ms) must be greater than 1.2 × retry period (${le.retryPeriodMs} ms)`,
      );
    }
    if (le.leaseDurationMs < 1000) {
      errors.push(`leader election: lease duration must be at least 1s (the Lease stores whole seconds)`);
    }
  }

  let logLevel: LevelWithSilent = "info";
  const lvl = get("log-level");
  if (lvl) {
    const v = lvl.value.trim().toLowerCase();
    if ((LOG_LEVELS as readonly string[]).includes(v)) logLevel = v as LevelWithSilent;
    else errors.push(`${lvl.source}=${shown(lvl.value)}: must be one of ${LOG_LEVELS.join(", ")}`);
  }

  let maxConcurrentReconciles = 5;
  const mcr = get("max-concurrent-reconciles");
  if (mcr) {
    const n = Number(mcr.value.trim());
    if (!/^\d{1,4}$/.test(mcr.value.trim()) || n < 1 || n > 1000) {
      errors.push(`${mcr.source}=${shown(mcr.value)}: must be a whole number from 1 to 1000`);
    } else maxConcurrentReconciles = n;
  }

  // 0 is allowed here (the watch off); below 100 ms the watch would cost more than it gains.
  let endOffsetWatchIntervalMs = 1000;
  const eow = get("end-offset-watch-interval");
  if (eow) {
    const ms = parseDuration(eow.value);
    if (ms === undefined || (ms !== 0 && ms < 100)) {
      errors.push(
        `${eow.source}=${JSON.stringify(eow.value)}: must be 0 (off) or a Go duration of at least 100ms such as 1s or 500ms`,
      );
    } else endOffsetWatchIntervalMs = ms;
  }

  const lagReaderRaw = str("lag-reader", "shared");
  let lagReader: LagReaderKind = "shared";
  if ((LAG_READERS as readonly string[]).includes(lagReaderRaw)) lagReader = lagReaderRaw as LagReaderKind;
  else {
    errors.push(
      `${get("lag-reader")?.source ?? "--lag-reader"}=${shown(lagReaderRaw)}: must be shared or per-trigger`,
    );
  }

  const metricsPort = port("metrics-port", 8080);
  const healthPort = port("health-port", 8081);
  const namesRaw = str("metrics-names", "lagscale");
  let metricsNames: MetricsNames = "lagscale";
  if ((METRICS_NAMES as readonly string[]).includes(namesRaw)) metricsNames = namesRaw as MetricsNames;
  else {
    errors.push(
      `${get("metrics-names")?.source ?? "--metrics-names"}=${shown(namesRaw)}: must be lagscale, keda or both`,
    );
  }
  if (reports.mode !== "off" && reports.port !== 0) {
    for (const [what, p] of [
      ["metrics", metricsPort],
      ["health", healthPort],
      ["webhook", webhook.mode === "off" ? -1 : webhook.port],
    ] as const) {
      if (p === reports.port) errors.push(`the ${what} port and the report receiver port are both ${p}`);
    }
  }
  if (webhook.mode !== "off" && webhook.port !== 0) {
    for (const [what, p] of [
      ["metrics", metricsPort],
      ["health", healthPort],
    ] as const) {
      if (p === webhook.port) errors.push(`the ${what} port and the webhook port are both ${p}`);
    }
  }

  const bindAddress = str("bind-address", "0.0.0.0");
  if (isIP(bindAddress) === 0 && (bindAddress.length > 253 || !DNS_SUBDOMAIN.test(bindAddress))) {
    errors.push(`--bind-address=${shown(bindAddress)}: must be an IP address (0.0.0.0, ::) or a host name`);
  }
  const shutdownTimeoutMs = duration("shutdown-timeout", 25_000);
  const inject = injectConfig(get, podNamespace ?? inClusterNamespace(env), errors);

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    help: false,
    config: {
      kubeconfig,
      watchNamespaces: namespaces.length > 0 ? namespaces : undefined,
      bindAddress,
      metricsPort,
      healthPort,
      metricsNames,
      webhook,
      reports,
      leaderElection,
      podName,
      podNamespace,
      logLevel,
      maxConcurrentReconciles,
      shutdownTimeoutMs,
      endOffsetWatchIntervalMs,
      lagReader,
      inject,
    },
  };
}

/** The reports Service's port (the receiver's default port, which the chart's Service keeps). */
const REPORTS_SERVICE_PORT = 9444;

function injectConfig(
  get: (name: string) => { value: string; source: string } | undefined,
  namespace: string | undefined,
  errors: string[],
): InjectConfig {
  const image = get("sidecar-image");
  let sidecarImage = `lagscale/sidecar:${buildInfo().version}`;
  if (image) {
    const v = image.value.trim();
    if (!isImageReference(v)) {
      errors.push(
        `${image.source}=${shown(image.value)}: must be an image reference such as registry.example.com/lagscale/sidecar:0.1.0`,
      );
    } else sidecarImage = v;
  }
  const url = get("sidecar-report-url");
  let reportUrl = `https://lagscale-reports.${namespace ?? "lagscale"}.svc:${REPORTS_SERVICE_PORT}/v1/reports`;
  if (url) {
    const v = url.value.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(v);
    } catch {
      parsed = undefined;
    }
    if (
      !parsed ||
      (parsed.protocol !== "https:" && parsed.protocol !== "http:") ||
      parsed.username ||
      parsed.password
    ) {
      errors.push(
        `${url.source}=${shown(url.value)}: must be an http(s) URL without credentials, such as https://lagscale-reports.lagscale.svc:9444/v1/reports`,
      );
    } else reportUrl = v;
  }
  const bind = get("sidecar-bind-address");
  let bindAddress: string | undefined;
  if (bind) {
    const v = bind.value.trim();
    if (isIP(v) === 0 && v !== "$(POD_IP)") {
      errors.push(`${bind.source}=${shown(bind.value)}: must be an IP address (0.0.0.0, ::) or $(POD_IP)`);
    } else bindAddress = v;
  }
  const ca = get("sidecar-report-ca-file");
  let reportCaFile: string | undefined;
  if (ca) {
    const v = ca.value.trim();
    if (!path.isAbsolute(v) || [...v].some((c) => c.charCodeAt(0) < 0x20)) {
      errors.push(`${ca.source}=${shown(ca.value)}: must be an absolute path`);
    } else reportCaFile = v;
  }
  return { sidecarImage, reportUrl, bindAddress, reportCaFile };
}
