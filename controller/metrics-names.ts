/**
 * KEDA's metric names on `/metrics` (flag `--metrics-names`), so dashboards and alerts written for KEDA's
 * operator work unchanged. lagscale registers its metrics once, under `lagscale_`; this registry renames the
 * families KEDA also has (keda-semantics.md §5.1, §5.2) when it renders the text format:
 *
 *   lagscale  every family under its lagscale_ name (the default)
 *   keda      the families in KEDA_NAMES under KEDA's name; lagscale's own families (lag, replicas, Kafka
 *             requests, ...) keep their lagscale_ name, as KEDA has nothing to call them
 *   both      each renamed family twice, under both names (while dashboards move from one to the other)
 *
 * Renaming at rendering keeps one set of collectors, whichever the flag says; the labels already are KEDA's,
 * except build_info's `nodeversion`, which KEDA calls `goversion` (it then holds the Node.js version).
 */
import { Registry } from "prom-client";

export const METRICS_NAMES = ["lagscale", "keda", "both"] as const;
export type MetricsNames = (typeof METRICS_NAMES)[number];

/** lagscale's name → KEDA's name, for every family KEDA's operator or webhooks also export. */
export const KEDA_NAMES: Readonly<Record<string, string>> = {
  lagscale_build_info: "keda_build_info",
  lagscale_scaler_metrics_value: "keda_scaler_metrics_value",
  lagscale_scaler_metrics_latency_seconds: "keda_scaler_metrics_latency_seconds",
  lagscale_scaler_active: "keda_scaler_active",
  lagscale_scaler_detail_errors_total: "keda_scaler_detail_errors_total",
  lagscale_scaled_object_errors_total: "keda_scaled_object_errors_total",
  lagscale_scaled_job_errors_total: "keda_scaled_job_errors_total",
  lagscale_scaled_object_paused: "keda_scaled_object_paused",
  lagscale_trigger_registered_total: "keda_trigger_registered_total",
  lagscale_resource_registered_total: "keda_resource_registered_total",
  lagscale_internal_scale_loop_latency_seconds: "keda_internal_scale_loop_latency_seconds",
  lagscale_webhook_scaled_object_validations_total: "keda_webhook_scaled_object_validations_total",
  lagscale_webhook_scaled_object_validation_errors_total:
    "keda_webhook_scaled_object_validation_errors_total",
};

/** Label names KEDA spells otherwise, per (KEDA) family. */
const KEDA_LABELS: Readonly<Record<string, readonly [string, string]>> = {
  keda_build_info: ["nodeversion", "goversion"],
};

/** The family a text-format line belongs to: the name after `# HELP`/`# TYPE`, or the sample's name. */
function familyOf(line: string): string | undefined {
  if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) return line.split(" ", 3)[2];
  if (line === "" || line.startsWith("#")) return undefined;
  const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  return m?.[0];
}

function renameLine(line: string, from: string, to: string): string {
  let out = line.startsWith("#") ? line.replace(` ${from}`, ` ${to}`) : to + line.slice(from.length);
  const label = KEDA_LABELS[to];
  if (label && !line.startsWith("#")) {
    out = out.replace(new RegExp(`([{,])${label[0]}="`), `$1${label[1]}="`);
  }
  return out;
}

/**
 * Prometheus text as `names` asks, from lagscale's rendering. Families are kept in their order; in `both`
 * the KEDA-named copy follows the original.
 */
export function renameExposition(text: string, names: MetricsNames): string {
  if (names === "lagscale") return text;
  const out: string[] = [];
  let copy: string[] = [];
  let current: string | undefined;
  const flush = () => {
    out.push(...copy);
    copy = [];
  };
  for (const line of text.split("\n")) {
    const fam = familyOf(line);
    if (line.startsWith("# HELP ")) {
      flush();
      current = fam;
    }
    const keda = current !== undefined ? KEDA_NAMES[current] : undefined;
    if (!keda || fam === undefined || !fam.startsWith(current ?? "")) {
      out.push(line);
      continue;
    }
    const renamed = renameLine(line, current ?? "", keda);
    if (names === "both") {
      out.push(line);
      copy.push(renamed);
    } else out.push(renamed);
  }
  if (copy.length > 0) {
    // the last family ends the text: its copy goes before the final newline
    const trailing = out.length > 0 && out[out.length - 1] === "" ? out.pop() : undefined;
    flush();
    if (trailing !== undefined) out.push(trailing);
  }
  return out.join("\n");
}

/** A prom-client Registry whose `/metrics` text carries the names `--metrics-names` asks for. */
export class NamedRegistry extends Registry {
  constructor(readonly names: MetricsNames = "lagscale") {
    super();
  }

  override async metrics(): Promise<string> {
    return renameExposition(await super.metrics(), this.names);
  }
}
