/**
 * The demo producer: `GET /?count=N` writes N messages to KAFKA_TOPIC. Port of the Go producer in
 * serdarkalayci/kafka-clients; see ../README.md for what changed and why.
 *
 *   BIND_ADDRESS  listen address, `:port` or `host:port` (default `:8090`)
 *   KAFKA_BROKER  bootstrap broker(s), `host:port[,host:port...]` (default `localhost:9092`)
 *   KAFKA_TOPIC   topic to write to (default `my-topic`)
 *   LOG_LEVEL     pino level (default info; debug prints one line per message like the original)
 */
import { Kafka } from "kafkajs";
import { createLogger } from "../../../core/log.js";
import { envOr, parseBindAddress, parseBrokers, parseTopic } from "../../shared/env.js";
import { kafkaLogCreator, kafkaLogLevel } from "../../shared/kafka-log.js";
import { createProducerApp } from "./server.js";

const SHUTDOWN_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  const logger = createLogger("demo-producer");
  let bind: { host: string | undefined; port: number };
  let brokers: string[];
  let topic: string;
  try {
    bind = parseBindAddress(envOr(process.env, "BIND_ADDRESS", ":8090"));
    brokers = parseBrokers(envOr(process.env, "KAFKA_BROKER", "localhost:9092"));
    topic = parseTopic(envOr(process.env, "KAFKA_TOPIC", "my-topic"));
  } catch (err) {
    logger.fatal(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }

  const kafka = new Kafka({
    clientId: "demo-producer",
    brokers,
    connectionTimeout: 3000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 3000 },
    logLevel: kafkaLogLevel(logger),
    logCreator: kafkaLogCreator(logger),
  });
  const app = createProducerApp({ kafka, topic, logger });
  const address = await app.listen(bind.host, bind.port);
  const shown =
    address.family === "IPv6" ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  logger.info(
    { address: address.address, port: address.port, brokers, topic },
    `http server started on ${shown}`,
  );

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // Wrappers may relay one signal twice; the shutdown already running ends at its timeout at the latest.
      logger.info({ signal }, "already shutting down");
      return;
    }
    signalled = true;
    logger.info({ signal }, `Got signal: ${signal}, finishing running requests`);
    app.shutdown(SHUTDOWN_TIMEOUT_MS).then(
      (finished) => {
        if (finished) logger.info("http server stopped");
        else
          logger.warn({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, "requests still running at the shutdown timeout");
        process.exit(finished ? 0 : 1);
      },
      (err: unknown) => {
        logger.error({ err: String(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo-producer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
