/**
 * The consumer loop: read one message at a time as a member of the group, commit it, print it, sleep SLEEP
 * seconds, repeat; like the Go original (kafka-go's ReadMessage commits before it returns the message).
 * Unlike the original it keeps heart-beating while it sleeps, and stop() leaves the group at once.
 */
import { Kafka, type Consumer } from "kafkajs";
import type { Logger } from "../../../core/log.js";
import { describeKafkaError, kafkaLogCreator, kafkaLogLevel } from "../../shared/kafka-log.js";
import { GO_COMPATIBLE_ASSIGNERS } from "./assigners.js";
import type { ConsoleLines } from "./output.js";
import { socketFactoryFrom } from "./socket.js";

/** kafka-go's Reader defaults the original runs with, and what this port changes (see README). */
export const GROUP_TIMINGS = {
  sessionTimeout: 30_000,
  rebalanceTimeout: 30_000,
  heartbeatInterval: 3_000,
  /**
   * kafka-go waits up to 10 s per fetch. kafkajs finishes the fetch in flight before it leaves the group,
   * so a short wait is what lets a stopping consumer leave within a second.
   */
  maxWaitTimeInMs: 500,
  /** MinBytes 10e1 and MaxBytes 10e6 in the original (its comment says 1KB; it is 100 bytes). */
  minBytes: 100,
  maxBytes: 10_000_000,
} as const;

export interface ConsumerOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  /** SLEEP as parsed (Atoi, error → 0); printed as is, negative sleeps nothing like Go's time.Sleep. */
  sleepSeconds: bigint;
  /** Local address to connect from (the pod IP), when given. */
  podIp?: string;
  lines: ConsoleLines;
  print: (line: string) => void;
  logger: Logger;
  /** Called when kafkajs gives up (it restarts on its own for errors it considers retriable). */
  onFatal: (err: unknown) => void;
}

export interface DemoConsumer {
  consumer: Consumer;
  /** Connects, joins the group and starts the loop; resolves once kafkajs runs it. */
  start(): Promise<void>;
  /** Interrupts a sleep, leaves the group and closes the connections. Safe to call at any time. */
  stop(): Promise<void>;
}

/**
 * Sleeps ms, offering kafkajs a heartbeat after every second of it, the last one included (kafkajs sends one
 * per heartbeatInterval). kafka-go heart-beats from a goroutine; here a member learns of a rebalance only
 * from a heartbeat's answer, so a sleep that offers none (SLEEP=1 used to) keeps the group waiting until the
 * rebalance timeout expels the member. Ends early on abort.
 */
async function sleepWithHeartbeats(
  ms: number,
  heartbeat: () => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!signal.aborted) {
    const left = deadline - Date.now();
    if (left > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1000));
        function done() {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done, { once: true });
      });
    }
    if (signal.aborted) return;
    await heartbeat();
    if (Date.now() >= deadline) return;
  }
}

export function createConsumer(options: ConsumerOptions): DemoConsumer {
  const { brokers, topic, groupId, lines, print, logger } = options;
  const kafka = new Kafka({
    clientId: "demo-consumer",
    brokers,
    connectionTimeout: 3000,
    logLevel: kafkaLogLevel(logger),
    logCreator: kafkaLogCreator(logger),
    ...(options.podIp ? { socketFactory: socketFactoryFrom(options.podIp) } : {}),
  });
  const consumer = kafka.consumer({
    groupId,
    partitionAssigners: GO_COMPATIBLE_ASSIGNERS,
    sessionTimeout: GROUP_TIMINGS.sessionTimeout,
    rebalanceTimeout: GROUP_TIMINGS.rebalanceTimeout,
    heartbeatInterval: GROUP_TIMINGS.heartbeatInterval,
    maxWaitTimeInMs: GROUP_TIMINGS.maxWaitTimeInMs,
    minBytes: GROUP_TIMINGS.minBytes,
    maxBytes: GROUP_TIMINGS.maxBytes,
    // kafka-go's reader never creates topics.
    allowAutoTopicCreation: false,
  });
  const abort = new AbortController();
  const sleepMs = options.sleepSeconds > 0n ? Number(options.sleepSeconds) * 1000 : 0;

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    print(lines.error(describeKafkaError(payload.error)));
    if (!payload.restart && !abort.signal.aborted) options.onFatal(payload.error);
  });

  async function start(): Promise<void> {
    print(lines.started(brokers, groupId, topic));
    await consumer.connect();
    // fromBeginning: kafka-go's FirstOffset for partitions the group has not committed yet.
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    print(lines.waiting("-1", "-1"));

    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (abort.signal.aborted || !isRunning() || isStale()) return;
          const next = (BigInt(message.offset) + 1n).toString();
          // Commit first, like kafka-go's ReadMessage does before handing the message over.
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
          resolveOffset(message.offset);
          print(
            lines.message(
              batch.topic,
              batch.partition,
              message.offset,
              message.key?.toString() ?? "",
              message.value?.toString() ?? "",
            ),
          );
          await sleepWithHeartbeats(sleepMs, heartbeat, abort.signal);
          if (abort.signal.aborted) return;
          print(lines.slept(options.sleepSeconds.toString()));
          const lag = BigInt(batch.highWatermark) - BigInt(next);
          print(lines.waiting(next, (lag < 0n ? 0n : lag).toString()));
        }
      },
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    consumer,
    start,
    stop() {
      stopping ??= (async () => {
        abort.abort();
        await consumer.disconnect();
      })();
      return stopping;
    },
  };
}
