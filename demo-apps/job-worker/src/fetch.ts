/**
 * Fetching one record by its coordinates (topic, partition, offset), for a message whose value the dispatcher
 * did not inline. kafkajs has no "read this offset" call outside a consumer group, so a throwaway group (never
 * committed: it leaves nothing behind but an empty group the broker expires) subscribes to the topic, seeks
 * the partition to the offset and takes the first record at or past it.
 */
import { randomBytes } from "node:crypto";
import { Kafka } from "kafkajs";
import type { Logger } from "../../../core/log.js";
import { kafkaLogCreator, kafkaLogLevel } from "../../shared/kafka-log.js";

export interface RecordAt {
  topic: string;
  partition: number;
  offset: string;
}

/** The record's value (null for a tombstone); rejects when it cannot be read within `timeoutMs`. */
export async function fetchRecordValue(
  brokers: string[],
  at: RecordAt,
  logger: Logger,
  timeoutMs = 30_000,
): Promise<Buffer | null> {
  const kafka = new Kafka({
    clientId: "demo-job-worker",
    brokers,
    logLevel: kafkaLogLevel(logger),
    logCreator: kafkaLogCreator(logger),
  });
  const consumer = kafka.consumer({
    groupId: `demo-job-worker-fetch-${randomBytes(6).toString("hex")}`,
    allowAutoTopicCreation: false,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: at.topic });
    const found = new Promise<Buffer | null>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`no record at ${at.topic}/${at.partition} offset ${at.offset} within ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
      void consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (batch.partition !== at.partition) return;
            const m = batch.messages.find((x) => BigInt(x.offset) >= BigInt(at.offset));
            if (!m) return;
            if (m.offset !== at.offset) {
              reject(
                new Error(`offset ${at.offset} of ${at.topic}/${at.partition} is gone (next: ${m.offset})`),
              );
            } else resolve(m.value);
          },
        })
        .then(() => consumer.seek({ topic: at.topic, partition: at.partition, offset: at.offset }), reject);
    });
    return await found;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
}
