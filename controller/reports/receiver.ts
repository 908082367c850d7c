/**
 * What happens to one report, in order, each step answering with a reason a person can act on:
 *
 *   not the leader → 503 (Retry-After; the sidecar retries, and reaches the leader through the Service)
 *   no bearer token → 401
 *   TokenReview: not authenticated, another audience, not bound to a pod → 401; too many reviews → 429
 *   more than the pod's rate (token bucket per pod) → 429 with Retry-After
 *   body over MAX_REPORT_BYTES → 413 (read only now, so no unauthenticated body is ever buffered)
 *   not JSON, or not a valid report (parseReport) → 400 with the errors
 *   the token's pod is not the report's pod → 403
 *   no such ScaledObject, or the pod is not a running pod of its scale target with that uid and IP → 403
 *   accepted → 200; kept in the store; if the reported lag calls for more replicas (earlyEvaluationReason),
 *   the ScaledObject is evaluated at once.
 *
 * The leader's side (its ScaledObjects, their last evaluation, evaluating one now) is an interface, so the
 * steps can be tested with fakes and the receiver never touches the reconcile loop's state.
 */
import type { Logger } from "../../core/log.js";
import { parseReport, type SidecarReport } from "../../core/reports/schema.js";
import { isFresh } from "../../core/reports/summary.js";
import { earlyEvaluationReason, type EarlyReason } from "../../core/scaling/early.js";
import type { TargetPod } from "../kube/index.js";
import { bearerToken, type ReportAuthenticator } from "./auth.js";
import type { TokenBuckets } from "./ratelimit.js";
import type { Reply, ReportRequest } from "./server.js";
import type { ReportStore } from "./store.js";
import { errorText } from "../../core/errors.js";

/** A kafka trigger as early evaluation compares reports with it. */
export interface ReportTrigger {
  name: string;
  consumerGroup: string;
  topic?: string;
  lagThreshold: number;
  activationLagThreshold: number;
  /** Partitions the last read found (caps the replicas lag can ask for); absent: unknown. */
  partitions?: number;
}

/** What the leader knows of a ScaledObject from its last evaluation. */
export interface ReportContext {
  triggers: ReportTrigger[];
  currentReplicas: number;
  maxReplicaCount: number;
}

export type ContextLookup =
  | { kind: "ok"; context: ReportContext }
  /** The object does not exist (or is not watched): the report is refused. */
  | { kind: "unknown"; reason: string }
  /** It exists but has not been evaluated yet: try again shortly. */
  | { kind: "not-ready"; reason: string };

/** The leader's side of the receiver (implemented by the ScaledObject controller). */
export interface LeaderReports {
  context(key: string): ContextLookup;
  /** The pods of the object's scale target now; `fresh` skips any cache. */
  targetPods(key: string, fresh: boolean): Promise<TargetPod[]>;
  evaluateNow(key: string): void;
}

export interface ReceiverOptions {
  /** The leader's side, or undefined while this replica does not lead. */
  leader: () => LeaderReports | undefined;
  authenticator: ReportAuthenticator;
  limiter: TokenBuckets;
  store: ReportStore;
  logger: Logger;
  /** Accepted reports that asked for an early evaluation (metrics). */
  onEarlyEvaluation?: (key: string, reason: EarlyReason) => void;
  /** Least time between two early evaluations of one ScaledObject. Default 1 s. */
  earlyEvaluationGapMs?: number;
  now?: () => number;
}

const refuse = (status: number, error: string, headers?: Record<string, string>): Reply =>
  headers ? { status, body: { error }, headers } : { status, body: { error } };

export class ReportReceiver {
  private readonly now: () => number;
  private readonly lastEarly = new Map<string, number>();

  constructor(private readonly o: ReceiverOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Answers one request; refusals are logged with the pod and ScaledObject as far as they are known. */
  async handle(req: ReportRequest): Promise<Reply> {
    const seen: { pod?: string; scaledObject?: string } = {};
    const reply = await this.steps(req, seen);
    if (reply.status !== 200) {
      const body = reply.body as { error?: string; errors?: string[] };
      const fields = { ...seen, status: reply.status, reason: body.error, errors: body.errors };
      // A follower refuses every report by design: not worth more than debug.
      if (reply.status === 503) this.o.logger.debug(fields, "report refused");
      else this.o.logger.info(fields, "report refused");
    }
    return reply;
  }

  private async steps(req: ReportRequest, seen: { pod?: string; scaledObject?: string }): Promise<Reply> {
    const leader = this.o.leader();
    if (!leader) {
      return refuse(503, "this controller replica is not the leader; retry", { "retry-after": "1" });
    }
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      return refuse(401, "no bearer token: send the pod's projected ServiceAccount token", {
        "www-authenticate": "Bearer",
      });
    }
    const auth = await this.o.authenticator.authenticate(token);
    if (!auth.ok && auth.retryAfterSeconds !== undefined) {
      return refuse(429, auth.reason, { "retry-after": String(auth.retryAfterSeconds) });
    }
    if (!auth.ok) return refuse(401, auth.reason, { "www-authenticate": "Bearer" });
    const who = auth.identity;
    seen.pod = `${who.namespace}/${who.podName}`;
    const rate = this.o.limiter.take(who.podUid, this.now());
    if (!rate.ok) {
      return refuse(429, `pod ${who.namespace}/${who.podName} sends reports too fast`, {
        "retry-after": String(rate.retryAfterSeconds),
      });
    }
    // Read only now: an unauthenticated or throttled client never makes the leader buffer a body.
    const raw = await req.body();

    let json: unknown;
    try {
      json = JSON.parse(raw.toString("utf8"));
    } catch (err) {
      return { status: 400, body: { error: "the body is not JSON", errors: [errorText(err)] } };
    }
    const parsed = parseReport(json);
    if (!parsed.ok) return { status: 400, body: { error: "not a valid report", errors: parsed.errors } };
    const report = parsed.report;
    const { pod } = report;
    if (pod.namespace !== who.namespace || pod.name !== who.podName) {
      return refuse(
        403,
        `the token belongs to pod ${who.namespace}/${who.podName}, the report speaks for ${pod.namespace}/${pod.name}`,
      );
    }

    const key = `${pod.namespace}/${report.scaledObject}`;
    seen.scaledObject = key;
    const ctx = leader.context(key);
    if (ctx.kind === "unknown") return refuse(403, ctx.reason);
    if (ctx.kind === "not-ready") return refuse(503, ctx.reason, { "retry-after": "2" });
    const why = await this.podProblem(leader, key, report, who.podUid);
    if (why) return refuse(403, why);

    const now = this.now();
    this.o.store.put(key, report, now);
    const early = this.early(leader, key, report, ctx.context, now);
    const log = { scaledObject: key, pod: pod.name, state: report.state, lag: report.lag };
    if (early) this.o.logger.info({ ...log, early }, "report accepted; evaluating at once");
    else this.o.logger.debug(log, "report accepted");
    return { status: 200, body: early ? { accepted: true, evaluation: early } : { accepted: true } };
  }

  /** Why the pod may not report for this ScaledObject, or undefined. The pod list is re-read on a miss. */
  private async podProblem(
    leader: LeaderReports,
    key: string,
    report: SidecarReport,
    uid: string,
  ): Promise<string | undefined> {
    const check = (pods: TargetPod[]): string | undefined => {
      const p = pods.find((x) => x.name === report.pod.name);
      const who = `pod ${report.pod.namespace}/${report.pod.name}`;
      if (!p) return `${who} is not a pod of the scale target of ScaledObject ${key}`;
      if (p.uid !== uid) return `${who} has another uid than the pod the token was issued for`;
      if (p.phase !== "Running" || p.terminating) return `${who} is not running (phase ${p.phase})`;
      if (p.ip !== report.pod.ip) return `${who} has IP ${p.ip ?? "none"}, the report says ${report.pod.ip}`;
      return undefined;
    };
    const cached = check(await leader.targetPods(key, false));
    return cached === undefined ? undefined : check(await leader.targetPods(key, true));
  }

  /** The early evaluation the kept reports call for, if any (and not one within the last gap). */
  private early(
    leader: LeaderReports,
    key: string,
    report: SidecarReport,
    ctx: ReportContext,
    now: number,
  ): EarlyReason | undefined {
    if (ctx.currentReplicas <= 0) return undefined; // scale from zero stays with polling: no pods, no reports
    const last = this.lastEarly.get(key);
    if (last !== undefined && now - last < (this.o.earlyEvaluationGapMs ?? 1000)) return undefined;
    // Every pod's latest fresh report counts toward the group's lag; stalled lag is no work for more pods.
    const reports = this.o.store.list(key, now).filter((k) => isFresh(k, now));
    let reason: EarlyReason | undefined;
    for (const t of ctx.triggers) {
      if (t.consumerGroup !== report.consumerGroup) continue;
      let lag = 0;
      for (const k of reports) {
        if (k.report.consumerGroup !== t.consumerGroup) continue;
        for (const p of k.report.partitions) {
          if ((t.topic === undefined || p.topic === t.topic) && !p.stalled) lag += p.lag;
        }
      }
      const input = {
        lag,
        lagThreshold: t.lagThreshold,
        activationLagThreshold: t.activationLagThreshold,
        currentReplicas: ctx.currentReplicas,
        maxReplicaCount: ctx.maxReplicaCount,
        ...(t.partitions !== undefined ? { partitions: t.partitions } : {}),
      };
      reason ??= earlyEvaluationReason(input);
    }
    if (!reason) return undefined;
    this.lastEarly.set(key, now);
    if (this.lastEarly.size > 10_000) this.lastEarly.clear();
    leader.evaluateNow(key);
    this.o.onEarlyEvaluation?.(key, reason);
    return reason;
  }
}
