/**
 * The producer's HTTP server: `GET /?count=N` writes N messages to the topic, concurrently, one send per
 * message, through a fresh producer with least-bytes partitioning, and answers once every send has been
 * acknowledged (200) or has failed (5xx with the reason). Everything else answers like Echo does: 404 for
 * other paths, 405 for other methods on `/`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Kafka } from "kafkajs";
import type { Logger } from "../../../core/log.js";
import { describeKafkaError } from "../../shared/kafka-log.js";
import { decideCount } from "./count.js";
import { createLeastBytesPartitioner } from "./least-bytes.js";
import { messageFor } from "./messages.js";
import { requestLogEntry, type RequestLogEntry } from "./request-log.js";

/**
 * acks=-1 (all in-sync replicas): a 200 means every message is stored. The original's kafka-go writer
 * defaults to acks=0 and cannot tell a lost message from a written one.
 */
export const ACKS = -1;

export interface ProducerAppOptions {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  /** Where the Echo-style request lines go (stdout in the app). */
  writeRequestLog?: (entry: RequestLogEntry) => void;
}

export interface SendOutcome {
  written: number;
  failed: number;
  /** Distinct failure reasons, at most a few. */
  errors: string[];
  /** Messages written per partition. */
  partitions: Record<string, number>;
  /** The producer could not connect at all. */
  unreachable?: string;
}

/** Writes `count` messages concurrently, one `send` per message, like the original's goroutines. */
export async function sendMessages(
  kafka: Kafka,
  topic: string,
  count: number,
  logger: Logger,
): Promise<SendOutcome> {
  const outcome: SendOutcome = { written: 0, failed: 0, errors: [], partitions: {} };
  const producer = kafka.producer({
    createPartitioner: createLeastBytesPartitioner,
    allowAutoTopicCreation: true,
  });
  try {
    await producer.connect();
  } catch (err) {
    outcome.unreachable = describeKafkaError(err);
    outcome.failed = count;
    return outcome;
  }
  try {
    const sends = Array.from({ length: count }, async (_, i) => {
      try {
        const [meta] = await producer.send({ topic, acks: ACKS, messages: [messageFor(i)] });
        outcome.written++;
        const p = String(meta?.partition ?? "?");
        outcome.partitions[p] = (outcome.partitions[p] ?? 0) + 1;
        logger.debug({ i, partition: meta?.partition }, `message delivered ${i}`);
      } catch (err) {
        outcome.failed++;
        const reason = describeKafkaError(err);
        if (outcome.errors.length < 5 && !outcome.errors.includes(reason)) outcome.errors.push(reason);
        logger.debug({ i, err: reason }, `failed to write messages: ${reason}`);
      }
    });
    await Promise.all(sends);
  } finally {
    await producer.disconnect().catch((err: unknown) => {
      logger.warn({ err: describeKafkaError(err) }, "closing the producer failed");
    });
  }
  return outcome;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): number {
  const text = JSON.stringify(body) + "\n";
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
  return Buffer.byteLength(text);
}

export interface ProducerApp {
  server: Server;
  /** Starts listening; resolves with the bound address. */
  listen(host: string | undefined, port: number): Promise<AddressInfo>;
  /** Stops accepting, lets running requests finish (up to timeoutMs), then closes. True when all finished. */
  shutdown(timeoutMs: number): Promise<boolean>;
}

export function createProducerApp(options: ProducerAppOptions): ProducerApp {
  const { kafka, topic, logger } = options;
  const writeLog =
    options.writeRequestLog ??
    ((entry: RequestLogEntry) => process.stdout.write(JSON.stringify(entry) + "\n"));
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let stopping = false;

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ status: number; error: string; bytes: number }> {
    const url = new URL(req.url ?? "/", "http://producer.invalid");
    if (url.pathname !== "/")
      return { status: 404, error: "", bytes: sendJson(res, 404, { message: "Not Found" }) };
    if (req.method !== "GET") {
      const bytes = sendJson(res, 405, { message: "Method Not Allowed" }, { allow: "GET" });
      return { status: 405, error: "", bytes };
    }
    const decision = decideCount(url.searchParams.get("count"));
    if (!decision.ok)
      return { status: 400, error: decision.reason, bytes: sendJson(res, 400, { message: decision.reason }) };
    const count = decision.count;
    if (count === 0)
      return {
        status: 200,
        error: "",
        bytes: sendJson(res, 200, { topic, count, written: 0, partitions: {} }),
      };

    const outcome = await sendMessages(kafka, topic, count, logger);
    if (outcome.unreachable !== undefined) {
      const message = `could not connect to Kafka: ${outcome.unreachable}`;
      return {
        status: 503,
        error: message,
        bytes: sendJson(res, 503, { message, topic, count, written: 0 }),
      };
    }
    if (outcome.failed > 0) {
      const message = `${outcome.failed} of ${count} messages were not written to topic ${topic}: ${outcome.errors.join("; ")}`;
      const body = {
        message,
        topic,
        count,
        written: outcome.written,
        failed: outcome.failed,
        errors: outcome.errors,
      };
      return { status: 502, error: message, bytes: sendJson(res, 502, body) };
    }
    const body = { topic, count, written: outcome.written, partitions: outcome.partitions };
    return { status: 200, error: "", bytes: sendJson(res, 200, body) };
  }

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    inFlight++;
    if (stopping) res.setHeader("connection", "close");
    handle(req, res)
      .catch((err: unknown) => {
        // Echo's Recover middleware: an unexpected error answers 500 instead of taking the process down.
        const message = err instanceof Error ? err.message : String(err);
        logger.error({ err: err instanceof Error ? err.stack : message }, "request failed");
        const bytes = res.headersSent ? 0 : sendJson(res, 500, { message: `internal error: ${message}` });
        return { status: 500, error: message, bytes };
      })
      .then(({ status, error, bytes }) => writeLog(requestLogEntry(req, status, error, started, bytes)))
      .finally(() => {
        inFlight--;
        if (inFlight === 0) drained?.();
      });
  });

  return {
    server,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host, port }, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async shutdown(timeoutMs) {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const finished = await Promise.race([idle.then(() => true as const), timeout]);
      clearTimeout(timer);
      if (finished) {
        server.closeIdleConnections();
        await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
      } else {
        server.closeAllConnections();
      }
      return finished;
    },
  };
}
