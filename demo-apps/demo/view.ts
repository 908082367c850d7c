/** The live view's lines and the summary: pure, so that the wording is tested without a cluster. */

export interface PartitionLag {
  partition: number;
  /** Messages the group has still to read there. */
  lag: number;
  /** False when the group has committed nothing there yet: then `lag` counts from the log start. */
  committed: boolean;
}

export interface Sample {
  /** Milliseconds since the request to the producer. */
  sinceRequestMs: number;
  /** The consumer Deployment's spec.replicas (what the autoscaler asked for). */
  desired: number;
  /** Its ready replicas. */
  ready: number;
  /** Consumer pods that exist (including those starting or stopping). */
  pods: number;
  lags: PartitionLag[] | undefined;
  /** The ScaledObject's Active condition: "True", "False", "Unknown", or undefined when it has none yet. */
  active: string | undefined;
  /** Each consumer pod's state as its sidecar's latest fresh report says (absent: no sidecars in this run). */
  reported?: PodReport[];
}

/** One pod's latest fresh report as the controller's receiver keeps it. */
export interface PodReport {
  pod: string;
  state: string;
  lag: number | undefined;
}

const LABELS = /^(lagscale_report_pod_(?:state|lag))\{([^}]*)\}\s+(\S+)$/;

/**
 * The pods' reported states from the controller's `/metrics` (lagscale_report_pod_state, _lag), for one
 * ScaledObject ("namespace/name"), sorted by pod name.
 */
export function reportedPods(metricsText: string, scaledObject: string): PodReport[] {
  const byPod = new Map<string, PodReport>();
  for (const line of metricsText.split("\n")) {
    const m = LABELS.exec(line.trim());
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    const pod = labels.pod;
    if (labels.scaledobject !== scaledObject || pod === undefined) continue;
    const entry = byPod.get(pod) ?? { pod, state: "?", lag: undefined };
    if (m[1] === "lagscale_report_pod_state" && Number(m[3]) === 1 && labels.state)
      entry.state = labels.state;
    if (m[1] === "lagscale_report_pod_lag") entry.lag = Number(m[3]);
    byPod.set(pod, entry);
  }
  return [...byPod.values()].sort((a, b) => a.pod.localeCompare(b.pod));
}

/** `abcde:busy(12)`: the pod name's random suffix, its reported state and lag. */
export function reportedPodsText(pods: readonly PodReport[]): string {
  if (pods.length === 0) return "no reports";
  return pods
    .map(
      (p) =>
        `${p.pod.slice(p.pod.lastIndexOf("-") + 1)}:${p.state}${p.lag !== undefined ? `(${p.lag})` : ""}`,
    )
    .join(" ");
}

export function totalLag(lags: readonly PartitionLag[]): number {
  return lags.reduce((sum, l) => sum + l.lag, 0);
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

export function clock(d: Date): string {
  return d.toISOString().slice(11, 19);
}

export function secs(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

export const HEADER =
  "time      +since  consumer(desired/ready)    lag  per partition p0..p4 (* = no commit yet)  Active";
/** With sidecars: each pod's reported state and lag, as the controller's receiver keeps it. */
export const SIDECAR_HEADER = `${HEADER}  pod:state(lag) as reported`;

/** One line of the live view. */
export function sampleLine(now: Date, s: Sample): string {
  const since = `+${Math.max(0, Math.round(s.sinceRequestMs / 1000))}s`;
  const replicas = `${s.desired}/${s.ready}` + (s.pods !== s.ready ? ` (${s.pods} pods)` : "");
  let lag = "?";
  let parts = "[lag unreadable]";
  if (s.lags) {
    lag = String(totalLag(s.lags));
    parts = `[${s.lags.map((l) => pad(`${l.lag}${l.committed ? " " : "*"}`, 5)).join("")} ]`;
  }
  const line = `${clock(now)}  ${pad(since, 6)}  ${replicas.padEnd(23)} ${pad(lag, 6)}  ${parts.padEnd(38)}  ${s.active ?? "-"}`;
  return s.reported ? `${line.padEnd(HEADER.length)}  ${reportedPodsText(s.reported)}` : line;
}

export interface EventLike {
  kind: string;
  name: string;
  reason: string;
  message: string;
  type: string;
  count: number;
}

export function eventLine(e: EventLike): string {
  const warn = e.type === "Warning" ? "WARNING " : "";
  const times = e.count > 1 ? ` (x${e.count})` : "";
  return `          event: ${warn}${e.kind}/${e.name} ${e.reason}: ${e.message.trim()}${times}`;
}

/** Follows the samples after the request and answers "is it over" and the summary's numbers. */
export class Tracker {
  peakDesired = 0;
  peakReady = 0;
  firstAtMax: number | undefined;
  firstReadyAtMax: number | undefined;
  lagZeroAt: number | undefined;
  backToZeroAt: number | undefined;
  private scaledUp = false;

  constructor(private readonly max: number) {}

  add(s: Sample): void {
    this.peakDesired = Math.max(this.peakDesired, s.desired);
    this.peakReady = Math.max(this.peakReady, s.ready);
    if (s.desired >= this.max && this.firstAtMax === undefined) this.firstAtMax = s.sinceRequestMs;
    if (s.ready >= this.max && this.firstReadyAtMax === undefined) this.firstReadyAtMax = s.sinceRequestMs;
    if (s.desired > 0 || s.pods > 0) {
      this.scaledUp = true;
      this.backToZeroAt = undefined;
    }
    if (s.lags) {
      if (totalLag(s.lags) === 0) this.lagZeroAt ??= s.sinceRequestMs;
      else this.lagZeroAt = undefined;
    }
    if (this.scaledUp && s.desired === 0 && s.pods === 0) this.backToZeroAt ??= s.sinceRequestMs;
  }

  /** With an autoscaler: the consumer went up and is back at 0. Without: the lag is gone (nothing will scale). */
  done(autoscaling: boolean): boolean {
    return autoscaling ? this.backToZeroAt !== undefined : this.lagZeroAt !== undefined;
  }

  summary(autoscaling: boolean, count: number): string[] {
    const at = (ms: number | undefined) => (ms === undefined ? "never" : `${secs(ms)} after the request`);
    const lines = [
      `messages: ${count}; peak consumer replicas: ${this.peakDesired} desired, ${this.peakReady} ready`,
      `desired ${this.max}: ${at(this.firstAtMax)}; ${this.max} ready: ${at(this.firstReadyAtMax)}`,
      `lag back to 0: ${at(this.lagZeroAt)}`,
    ];
    if (autoscaling) lines.push(`consumer back to 0 pods: ${at(this.backToZeroAt)}`);
    else
      lines.push(
        "autoscaling was NOT running: the replica counts above are the manifest's, nothing scaled them",
      );
    return lines;
  }
}
