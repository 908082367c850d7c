/**
 * The lagscale controller process.
 *
 * Every replica serves the admission webhooks, /metrics, /healthz and /readyz. Only the leader (a
 * coordination.k8s.io Lease, client-go's timing) watches ScaledObjects, evaluates them and writes: its
 * ScaledObject controller starts on `onStartedLeading` and stops when the leadership's signal aborts. A
 * replica that loses the lease stops evaluating at once, closes its Kafka connections and campaigns again.
 *
 * SIGTERM or SIGINT: stop evaluating (running evaluations finish), release the lease so that another
 * replica takes over at once, close the Kafka connections and the servers, exit 0; if that takes longer
 * than --shutdown-timeout, exit 1 anyway.
 *
 *   npm run controller -- --kubeconfig .lagscale/kubeconfig
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { BatchedLagReader } from "../core/kafka/batched-reader.js";
import { PerTriggerLagReader } from "../core/kafka/per-trigger-reader.js";
import { EndOffsetWatch } from "../core/kafka/end-offset-watch.js";
import { createLogger, type Logger } from "../core/log.js";
import { ApiAuthSources, CachedAuthSources, clusterObjectNamespaceFromEnv } from "./auth/index.js";
import { parseConfig, usage, type ControllerConfig } from "./config.js";
import { startHttpServer, type Check, type RunningHttpServer } from "../core/http/server.js";
import { connectKube, KubeRest, loadKubeConfig, type KubeIO } from "./kube/index.js";
import {
  combineCallbacks,
  defaultIdentity,
  labelLeaderPod,
  LeaderElector,
  realSleep,
  type LeaderCallbacks,
  type LeaderPodLabel,
} from "./leader/index.js";
import { ApiInjectLookups, reportCaReader } from "./inject/index.js";
import { EventRecorder } from "./kube/events.js";
import { buildInfo, ControllerMetrics } from "./metrics.js";
import { NamedRegistry } from "./metrics-names.js";
import { ReportStore, startReports } from "./reports/index.js";
import {
  ApiJobClient,
  KafkaMessageDispatch,
  ScaledJobController,
  ScaledJobMetrics,
} from "./scaledjob/index.js";
import { ScaledObjectController } from "./scaledobject/index.js";
import {
  ApiWebhookLookups,
  startWebhookServer,
  SYSTEM_NAMESPACES,
  type WebhookServer,
} from "./webhook/index.js";
import { errorText } from "../core/errors.js";

/** How long a leader may go without renewing before /healthz fails (controller-runtime's default is 20 s). */
const HEALTHZ_TOLERANCE_MS = 20_000;

async function run(config: ControllerConfig, log: Logger): Promise<number> {
  const kc = loadKubeConfig(config.kubeconfig);
  const cluster = kc.getCurrentCluster();
  log.info(
    {
      server: cluster?.server,
      namespaces: config.watchNamespaces ?? "all",
      leaderElection: config.leaderElection.enabled
        ? `${config.leaderElection.leaseNamespace}/${config.leaderElection.leaseName}`
        : "off",
    },
    "lagscale controller starting",
  );

  const registry = new NamedRegistry(config.metricsNames);
  const metrics = new ControllerMetrics(registry);
  const scaledJobMetrics = new ScaledJobMetrics(registry);
  const readerOptions = {
    logger: log.child({ component: "lag-reader" }),
    onRequest: (_cluster: string, api: string) => metrics.kafkaRequest(api),
  };
  const reader =
    config.lagReader === "per-trigger"
      ? new PerTriggerLagReader(readerOptions)
      : new BatchedLagReader(readerOptions);
  if (config.lagReader === "per-trigger") {
    log.warn(
      "--lag-reader=per-trigger: one Kafka client per trigger, as KEDA has; meant for comparison only",
    );
  }
  // Sees bursts between polls (docs/reaction.md); started and stopped with the leader's controller.
  const watch =
    config.endOffsetWatchIntervalMs > 0
      ? new EndOffsetWatch({
          intervalMs: config.endOffsetWatchIntervalMs,
          logger: log.child({ component: "end-offset-watch" }),
          onRequest: (_cluster, api) => metrics.watchRequest(api),
        })
      : undefined;

  // ---- the leader's work ----
  let controller: ScaledObjectController | undefined;
  let leaderKube: KubeIO | undefined;
  const reportStore = new ReportStore();
  const leaderWork: LeaderCallbacks = {
    onStartedLeading: async (signal) => {
      const kube = connectKube({
        kubeconfig: kc,
        logger: log.child({ component: "kube" }),
        ...(config.watchNamespaces ? { namespaces: config.watchNamespaces } : {}),
        ...(config.podName ? { events: { instance: config.podName } } : {}),
      });
      const clusterObjectNamespace = config.podNamespace ?? clusterObjectNamespaceFromEnv();
      // Targets, TriggerAuthentications and referenced Secrets from watches: no reads per evaluation. The
      // ScaledJob loop reads its TriggerAuthentications and Secrets from the same caches.
      const targets = kube.cacheTargets();
      kube.cachePods(); // Value triggers' ready pods; the pod watch starts with the first such trigger
      const authSources = new CachedAuthSources(kube, targets, new ApiAuthSources(kc), {
        logger: log.child({ component: "auth" }),
      });
      const c = new ScaledObjectController({
        kube,
        reader,
        metrics,
        logger: log.child({ component: "scaledobject" }),
        authSources,
        concurrency: config.maxConcurrentReconciles,
        ...(watch ? { watch } : {}),
        ...(clusterObjectNamespace ? { clusterObjectNamespace } : {}),
        ...(config.reports.mode !== "off" ? { reports: reportStore } : {}),
      });
      const jobKube = connectKube({
        kubeconfig: kc,
        logger: log.child({ component: "kube" }),
        ...(config.watchNamespaces ? { namespaces: config.watchNamespaces } : {}),
        ...(config.podName ? { events: { instance: config.podName } } : {}),
      });
      const jobs = new ApiJobClient(jobKube.rest);
      const sj = new ScaledJobController({
        kube: jobKube,
        jobs,
        dispatch: new KafkaMessageDispatch({
          jobs,
          events: jobKube.events,
          metrics: scaledJobMetrics,
          logger: log.child({ component: "dispatch" }),
        }),
        reader,
        metrics: scaledJobMetrics,
        logger: log.child({ component: "scaledjob" }),
        authSources,
        ...(clusterObjectNamespace ? { clusterObjectNamespace } : {}),
      });
      controller = c;
      leaderKube = kube;
      c.start();
      sj.start();
      log.info("evaluating ScaledObjects and ScaledJobs");
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      });
      if (controller === c) {
        controller = undefined;
        leaderKube = undefined;
      }
      reportStore.clear(); // the next leader collects its own
      await Promise.all([c.stop(), sj.stop()]);
      await reader.close();
      log.info("stopped evaluating ScaledObjects");
    },
  };

  // ---- servers every replica runs ----
  let elector: LeaderElector | undefined;
  let podLabel: LeaderPodLabel | undefined;
  const healthz: Record<string, Check> = {
    ping: () => undefined,
    leader: () => elector?.check(HEALTHZ_TOLERANCE_MS),
  };
  const wh = config.webhook;
  const certsThere = existsSync(wh.certFile) && existsSync(wh.keyFile);
  const servesWebhooks = wh.mode === "on" || (wh.mode === "auto" && certsThere);
  let webhooksListening = false;
  const readyz: Record<string, Check> = {
    ping: () => undefined,
    informers: () =>
      controller && !controller.synced() ? "the ScaledObject informer has not listed yet" : undefined,
    // Ready sends the API server's admission calls here (the webhook Service): not before the server listens.
    webhooks: () =>
      servesWebhooks && !webhooksListening ? "the webhook server is not listening yet" : undefined,
  };
  const servers: { close(): Promise<void> }[] = [];
  const closeServers = async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  };
  try {
    const same = config.metricsPort === config.healthPort && config.metricsPort !== 0;
    const metricsServer: RunningHttpServer = await startHttpServer({
      name: same ? "metrics+health" : "metrics",
      host: config.bindAddress,
      port: config.metricsPort,
      registry,
      ...(same ? { healthz, readyz } : {}),
      logger: log,
    });
    servers.push(metricsServer);
    if (!same) {
      servers.push(
        await startHttpServer({
          name: "health",
          host: config.bindAddress,
          port: config.healthPort,
          healthz,
          readyz,
          logger: log,
        }),
      );
    }
    if (servesWebhooks) {
      // The injector's Events (on the owners of pods it could not inject), written by every replica.
      const eventsRest = new KubeRest(kc);
      const events = new EventRecorder(eventsRest, {
        logger: log.child({ component: "inject" }),
        ...(config.podName ? { instance: config.podName } : {}),
      });
      servers.push({ close: async () => (await events.flush(), eventsRest.close()) });
      const ownNamespace = config.podNamespace ?? clusterObjectNamespaceFromEnv();
      const readReportCa = reportCaReader(
        config.inject.reportCaFile ?? path.join(wh.certDir, "ca.crt"),
        log.child({ component: "webhook" }),
      );
      const server: WebhookServer = await startWebhookServer({
        port: wh.port,
        host: config.bindAddress,
        certFile: wh.certFile,
        keyFile: wh.keyFile,
        lookups: new ApiWebhookLookups(kc),
        registry,
        logger: log.child({ component: "webhook" }),
        inject: {
          lookups: new ApiInjectLookups(kc),
          defaults: {
            image: config.inject.sidecarImage,
            reportUrl: config.inject.reportUrl,
            ...(config.inject.bindAddress ? { bindAddress: config.inject.bindAddress } : {}),
            get reportCa() {
              return readReportCa();
            },
          },
          version: buildInfo().version,
          ...(ownNamespace ? { clusterObjectNamespace: ownNamespace } : {}),
          excludedNamespaces: new Set([...SYSTEM_NAMESPACES, ...(ownNamespace ? [ownNamespace] : [])]),
          events,
        },
      });
      servers.push(server);
      webhooksListening = true;
      log.info({ server: "webhook", port: server.port }, "webhook server listening");
    } else if (wh.mode === "auto") {
      log.warn(
        { certDir: wh.certDir },
        "webhook server not started: no tls.crt/tls.key in the cert dir (give --cert-dir, or --webhooks=off to silence this)",
      );
    }
    const rp = config.reports;
    const rpTls = rp.mode === "https" && existsSync(wh.certFile) && existsSync(wh.keyFile);
    if (rp.mode === "http" || rpTls) {
      const rest = new KubeRest(kc);
      const server = await startReports({
        port: rp.port,
        host: config.bindAddress,
        ...(rpTls ? { tls: { certFile: wh.certFile, keyFile: wh.keyFile } } : {}),
        rest,
        registry,
        store: reportStore,
        logger: log.child({ component: "reports" }),
        leader: () => (controller && leaderKube ? { source: controller, pods: leaderKube.pods } : undefined),
      });
      servers.push({ close: async () => (await server.close(), rest.close()) });
    } else if (rp.mode === "https") {
      log.warn(
        { certDir: wh.certDir },
        "report receiver not started: no tls.crt/tls.key in the cert dir (give --cert-dir; --reports=http on the local stack, or --reports=off)",
      );
    }
  } catch (err) {
    await closeServers();
    throw err;
  }

  // ---- leadership and shutdown ----
  const shutdown = new AbortController();
  let exitCode = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (shutdown.signal.aborted) return;
    log.info({ signal: sig }, "shutting down");
    shutdown.abort();
    const timer = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, "shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  if (config.leaderElection.enabled) {
    const le = config.leaderElection;
    const identity = defaultIdentity(config.podName);
    const callbacks: LeaderCallbacks[] = [leaderWork];
    if (config.podName && config.podNamespace) {
      podLabel = labelLeaderPod({
        kubeconfig: kc,
        namespace: config.podNamespace,
        podName: config.podName,
        identity,
        logger: log.child({ component: "leader-label" }),
      });
      callbacks.push(podLabel);
    }
    elector = new LeaderElector({
      lock: { api: kc.makeApiClient(CoordinationV1Api), namespace: le.leaseNamespace, name: le.leaseName },
      identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      registry,
      logger: log.child({ component: "leader" }),
      callbacks: combineCallbacks(...callbacks),
    });
    log.info({ identity: elector.identity }, "campaigning for the leader lease");
    while (!shutdown.signal.aborted) {
      await elector.run(shutdown.signal);
      if (shutdown.signal.aborted) break;
      log.warn("lost the leader lease; campaigning again");
      await realSleep(le.retryPeriodMs, shutdown.signal);
    }
  } else {
    log.info("leader election is off: this process evaluates ScaledObjects");
    await leaderWork.onStartedLeading?.(shutdown.signal);
  }

  podLabel?.close();
  await reader.close();
  try {
    await closeServers();
  } catch (err) {
    log.warn({ err: errorText(err) }, "closing the servers failed");
    exitCode = 1;
  }
  log.info("stopped");
  return exitCode;
}

async function main(): Promise<void> {
  const parsed = parseConfig(process.argv.slice(2));
  if (parsed.ok && parsed.help) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (!parsed.ok) {
    process.stderr.write(
      `lagscale controller: invalid settings:\n${parsed.errors.map((e) => `  - ${e}`).join("\n")}\n\n${usage()}\n`,
    );
    process.exit(2);
  }
  const log = createLogger("controller", parsed.config.logLevel);
  // Last resort, not a cure: a bug that escapes every handler is logged as one JSON line with its stack, and
  // the process exits as Node would (the pod restarts). Requests and evaluations have their own handlers.
  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "uncaught exception; exiting");
    process.exit(1);
  });
  process.on("unhandledRejection", (reason) => {
    log.fatal({ err: reason }, "unhandled promise rejection; exiting");
    process.exit(1);
  });
  try {
    const code = await run(parsed.config, log);
    process.exit(code);
  } catch (err) {
    log.fatal({ err: errorText(err) }, "controller failed");
    process.exit(1);
  }
}

void main();
