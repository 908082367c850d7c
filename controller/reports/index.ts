/**
 * The report receiver: sidecars POST their pod's report here; the leader checks it (auth.ts, receiver.ts),
 * keeps it (store.ts) and its ScaledObject evaluations use it (evaluation.ts). Every replica serves it;
 * only the leader accepts.
 *
 *   const store = new ReportStore();
 *   const server = await startReports({ port, tls, rest, registry, logger, store, leader: () => source });
 */
import type { Registry } from "prom-client";
import type { Logger } from "../../core/log.js";
import { MAX_REPORT_BYTES } from "../../core/reports/schema.js";
import type { KubeRest, PodClient } from "../kube/index.js";
import { ApiTokenReviewer, ReportAuthenticator } from "./auth.js";
import { ControllerReports, type ReportsSource } from "./leader.js";
import { ReportMetrics } from "./metrics.js";
import { TokenBuckets } from "./ratelimit.js";
import { ReportReceiver } from "./receiver.js";
import { startReportServer, type ReportServer } from "./server.js";
import type { ReportStore } from "./store.js";

export * from "./auth.js";
export * from "./evaluation.js";
export * from "./leader.js";
export * from "./ratelimit.js";
export * from "./receiver.js";
export * from "./server.js";
export * from "./store.js";

export interface StartReportsOptions {
  port: number;
  host?: string;
  /** Absent: plain HTTP (the local stack). */
  tls?: { certFile: string; keyFile: string };
  /** For TokenReviews. */
  rest: KubeRest;
  registry: Registry;
  logger: Logger;
  store: ReportStore;
  /** The leader's ScaledObject controller and its pods client, or undefined while not leading. */
  leader: () => { source: ReportsSource; pods: Pick<PodClient, "forTarget"> } | undefined;
}

export async function startReports(o: StartReportsOptions): Promise<ReportServer> {
  const metrics = new ReportMetrics(o.registry, o.store);
  let current: { source: ReportsSource; adapter: ControllerReports } | undefined;
  const receiver = new ReportReceiver({
    leader: () => {
      const l = o.leader();
      if (!l) return (current = undefined);
      if (current?.source !== l.source)
        current = { source: l.source, adapter: new ControllerReports(l.source, l.pods) };
      return current.adapter;
    },
    authenticator: new ReportAuthenticator({ reviewer: new ApiTokenReviewer(o.rest) }),
    limiter: new TokenBuckets(),
    store: o.store,
    logger: o.logger,
    onEarlyEvaluation: (_key, reason) => metrics.earlyEvaluation(reason),
  });
  return startReportServer({
    port: o.port,
    ...(o.host ? { host: o.host } : {}),
    ...(o.tls ? { tls: o.tls } : {}),
    maxBodyBytes: MAX_REPORT_BYTES,
    handle: (req) => receiver.handle(req),
    onReply: (code) => metrics.reply(code),
    logger: o.logger,
  });
}
