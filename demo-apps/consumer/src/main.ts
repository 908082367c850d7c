/**
 * The demo consumer: reads KAFKA_TOPIC as a member of KAFKA_CONSUMER_GROUP and sleeps SLEEP seconds per
 * message. Port of the Go consumer in serdarkalayci/kafka-clients; see ../README.md for what changed.
 *
 *   KAFKA_BROKER          bootstrap broker(s), `host:port[,host:port...]` (default `localhost:9092`)
 *   KAFKA_TOPIC           topic to read (default `my-topic`)
 *   KAFKA_CONSUMER_GROUP  consumer group (default `my-topic-consumers`)
 *   SLEEP                 seconds to sleep after each message (default 0; not an integer → 0, like Atoi)
 *   POD_IP                optional local address to connect from (the broker then shows it as client host)
 *   LOG_LEVEL             pino level for diagnostics (default info)
 */
import { createLogger } from "../../../core/log.js";
import { atoi, envOr, parseBrokers, parseGroupId, parseOptionalIp, parseTopic } from "../../shared/env.js";
import { describeKafkaError } from "../../shared/kafka-log.js";
import { createConsumer, type DemoConsumer } from "./consumer.js";
import { consoleLines, paletteFor } from "./output.js";

/** After this, a stop that hangs (a broker gone mid-leave) gives way to a plain exit. */
const STOP_TIMEOUT_MS = 5_000;

async function main(): Promise<void> {
  const logger = createLogger("demo-consumer");
  const lines = consoleLines(paletteFor(process.stdout));
  const print = (line: string) => void process.stdout.write(line + "\n");
  let config: { brokers: string[]; topic: string; groupId: string; sleepSeconds: bigint; podIp?: string };
  try {
    const podIp = parseOptionalIp(process.env.POD_IP);
    config = {
      brokers: parseBrokers(envOr(process.env, "KAFKA_BROKER", "localhost:9092")),
      topic: parseTopic(envOr(process.env, "KAFKA_TOPIC", "my-topic")),
      groupId: parseGroupId(envOr(process.env, "KAFKA_CONSUMER_GROUP", "my-topic-consumers")),
      sleepSeconds: atoi(envOr(process.env, "SLEEP", "0")) ?? 0n,
      ...(podIp ? { podIp } : {}),
    };
  } catch (err) {
    logger.fatal(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    print(lines.signal(signal));
    // A repeated signal (process managers and wrappers may relay one twice) changes nothing: the stop
    // already running either finishes or hits STOP_TIMEOUT_MS.
    if (signalled) return;
    signalled = true;
    const timer = setTimeout(() => {
      logger.warn({ timeoutMs: STOP_TIMEOUT_MS }, "leaving the group took too long, exiting anyway");
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    running.stop().then(
      () => {
        clearTimeout(timer);
        print(lines.closed());
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err: describeKafkaError(err) }, "failed to close reader");
        process.exit(1);
      },
    );
  };
  const running: DemoConsumer = createConsumer({
    ...config,
    lines,
    print,
    logger,
    onFatal: (err) => {
      logger.fatal({ err: describeKafkaError(err) }, "the consumer stopped and will not restart; exiting");
      process.exit(1);
    },
  });
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await running.start();
  } catch (err) {
    if (signalled) return;
    print(lines.error(describeKafkaError(err)));
    logger.fatal({ err: describeKafkaError(err) }, "could not start consuming");
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo-consumer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
