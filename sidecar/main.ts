/**
 * The sidecar process: runs beside a consumer container, reads what the pod's members of the consumer group
 * do, and reports it to the lagscale controller. Settings come from the environment (sidecar/config.ts,
 * docs/sidecar.md).
 *
 * It must never harm the consumer beside it: Kafka or controller failures are logged and retried, never a
 * non-zero exit, and /healthz stays 200 while the loop runs. Only an unusable environment exits (code 2,
 * with every problem listed). SIGTERM or SIGINT: stop, exit 0 within a second or two.
 */
import { readFileSync } from "node:fs";
import { startHttpServer, type RunningHttpServer } from "../core/http/server.js";
import { errorText } from "../core/errors.js";
import { createLogger } from "../core/log.js";
import { parseSidecarConfig, type SidecarConfig } from "./config.js";
import { KafkajsPodKafka } from "./kafka.js";
import { SidecarLoop } from "./loop.js";
import { SidecarMetrics } from "./metrics.js";
import { httpPoster, ReportPusher, tokenFromFile } from "./push.js";

/** After this, a stop that hangs (a broker that does not answer) gives way to a plain exit 0. */
const STOP_TIMEOUT_MS = 3_000;
const PUSH_TIMEOUT_MS = 5_000;

async function main(): Promise<void> {
  let config: SidecarConfig;
  try {
    config = parseSidecarConfig(process.env);
  } catch (err) {
    createLogger("sidecar", "info").fatal(errorText(err));
    process.exit(2);
  }
  const logger = createLogger("sidecar", config.logLevel).child({
    pod: config.pod.name,
    namespace: config.pod.namespace,
  });
  let ca: string | undefined = config.reportCa;
  if (config.reportCaFile !== undefined) {
    try {
      ca = readFileSync(config.reportCaFile, "utf8");
    } catch (err) {
      logger.fatal(`LAGSCALE_REPORT_CA_FILE: cannot read ${config.reportCaFile}: ${errorText(err)}`);
      process.exit(2);
    }
  }

  const kafka = new KafkajsPodKafka({
    connection: config.kafka,
    clientId: `lagscale-sidecar-${config.pod.name}`,
    logger,
  });
  const metrics = new SidecarMetrics(() => pusher.lastAccepted());
  const pusher = new ReportPusher({
    post: httpPoster(config.reportUrl, ca, PUSH_TIMEOUT_MS),
    readToken: tokenFromFile(config.tokenFile),
    logger,
    onOutcome: (o) => metrics.pushed(o.status, o.ok),
  });
  const loop = new SidecarLoop({ config, kafka, pusher, metrics, logger });

  const servers: RunningHttpServer[] = [];
  try {
    if (config.metricsPort !== 0) {
      servers.push(
        await startHttpServer({
          name: "metrics",
          host: config.bindAddress,
          port: config.metricsPort,
          registry: metrics.registry,
          logger,
        }),
      );
    }
    if (config.healthPort !== 0) {
      servers.push(
        await startHttpServer({
          name: "health",
          host: config.bindAddress,
          port: config.healthPort,
          healthz: { loop: () => loop.health() },
          readyz: { loop: () => loop.health() },
          logger,
        }),
      );
    }
  } catch (err) {
    // A taken port is the pod's manifest to fix; the reports are still worth sending.
    logger.error({ err: errorText(err) }, "cannot serve metrics or health; reporting goes on");
  }
  loop.start();
  logger.info(
    {
      consumerGroup: config.consumerGroup,
      scaledObject: config.scaledObject,
      topic: config.topic,
      podIp: config.pod.ip,
      reportUrl: config.reportUrl.href,
      fastIntervalMs: config.fastIntervalMs,
      slowIntervalMs: config.slowIntervalMs,
      stallWindowMs: config.stallWindowMs,
    },
    "sidecar started",
  );

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    setTimeout(() => process.exit(0), STOP_TIMEOUT_MS).unref();
    void (async () => {
      await loop.stop();
      await pusher.stop();
      await Promise.all([...servers.map((s) => s.close()), kafka.close()]);
      process.exit(0);
    })().catch(() => process.exit(0));
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

// Whatever escapes is a bug; it is logged, and the consumer container beside is not concerned.
process.on("unhandledRejection", (reason) => {
  createLogger("sidecar").error({ err: errorText(reason) }, "unhandled rejection");
});

void main();
