/**
 * The demo job worker: the pod of one per-message Job (ScaledJob `spec.dispatch.mode: perMessage`). It reads
 * its message from the environment the lagscale dispatcher sets, works for WORK_SECONDS, and exits 0; a
 * message with the header `demo-fail: true` makes it exit 1 after the work, so the Job follows its
 * backoffLimit. A value too large to be inlined is fetched from Kafka by its coordinates (KAFKA_BROKER).
 *
 *   LAGSCALE_MESSAGE_*   the message (set by the dispatcher; docs/scaledjob.md lists them)
 *   WORK_SECONDS         how long the work takes (default 1; fractions allowed)
 *   KAFKA_BROKER         `host:port[,...]`: needed only when a value was not inlined
 *   LOG_LEVEL            pino level (default info)
 *
 * Exit codes: 0 done, 1 the message is marked to fail or its record could not be fetched, 2 bad environment,
 * 143 stopped by SIGTERM before the work was done.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger } from "../../../core/log.js";
import { describeKafkaError } from "../../shared/kafka-log.js";
import { configFromEnv, FAIL_HEADER, markedToFail, type WorkerConfig } from "./config.js";
import { fetchRecordValue } from "./fetch.js";

async function main(): Promise<number> {
  const logger = createLogger("demo-job-worker");
  let config: WorkerConfig;
  try {
    config = configFromEnv(process.env);
  } catch (err) {
    logger.fatal(err instanceof Error ? err.message : String(err));
    return 2;
  }
  const m = config.message;
  const log = logger.child({ topic: m.topic, partition: m.partition, offset: m.offset });
  const stop = new AbortController();
  process.once("SIGTERM", () => {
    log.warn("SIGTERM before the work was done: exiting without finishing");
    stop.abort();
  });

  let value = m.value;
  if (value === undefined && config.brokers) {
    log.info({ valueSize: m.valueSize }, "value not inlined: fetching the record by its coordinates");
    try {
      value = await fetchRecordValue(config.brokers, m, log);
    } catch (err) {
      log.error({ err: describeKafkaError(err) }, "could not fetch the record");
      return 1;
    }
  }
  log.info(
    {
      key: m.key?.toString("utf8") ?? null,
      timestamp: new Date(m.timestamp).toISOString(),
      headers: m.headers,
      valueSize: value?.length ?? 0,
      valuePreview: value ? value.subarray(0, 64).toString("utf8") : null,
      workSeconds: config.workSeconds,
    },
    "working on the message",
  );
  try {
    await sleep(config.workSeconds * 1000, undefined, { signal: stop.signal });
  } catch {
    return 143;
  }
  if (markedToFail(m)) {
    log.error({ header: FAIL_HEADER }, "the message is marked to fail: exiting 1");
    return 1;
  }
  log.info("done");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `demo-job-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
