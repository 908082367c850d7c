/**
 * Helpers for the sidecar tests on the real broker: kafkajs consumers that connect from a chosen loopback
 * address (the broker then records it as their client host, as it records a pod IP), the sidecar run
 * in-process against them, and a small HTTP server standing in for the controller's report receiver (the
 * receiver itself is built and tested in controller/reports/).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from "kafkajs";
import { socketFactoryFrom } from "../../demo-apps/consumer/src/socket.js";
import type { KafkaConnection } from "../../core/kafka/types.js";
import { createLogger } from "../../core/log.js";
import { parseReport, type SidecarReport } from "../../core/reports/schema.js";
import { KafkajsPodKafka } from "../../sidecar/kafka.js";
import { SidecarLoop, type LoopConfig } from "../../sidecar/loop.js";
import { SidecarMetrics } from "../../sidecar/metrics.js";
import { httpPoster, ReportPusher, tokenFromFile } from "../../sidecar/push.js";
import { loadStack } from "../support/stack.js";

export const TOKEN = "test-token-of-the-pod";

export function brokers(): string[] {
  return loadStack().bootstrapServers;
}

export interface Received {
  at: number;
  status: number;
  report: SidecarReport;
}

/** A stand-in report receiver: checks the bearer token and the body (parseReport), records what came. */
export class FakeReceiver {
  readonly received: Received[] = [];
  /** Bodies parseReport refused, with its errors: a test expects none. */
  readonly invalid: string[] = [];
  /** Answers 503 to this many pushes first, as a replica that is not the leader does. */
  unavailableFirst = 0;
  answered503 = 0;
  private server: http.Server | undefined;

  async start(): Promise<URL> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
          res.writeHead(401).end("no or wrong token");
          return;
        }
        if (this.unavailableFirst > 0) {
          this.unavailableFirst--;
          this.answered503++;
          res.writeHead(503).end("not the leader");
          return;
        }
        const text = Buffer.concat(chunks).toString("utf8");
        const parsed = parseReport(JSON.parse(text) as unknown);
        if (!parsed.ok) {
          this.invalid.push(`${parsed.errors.join("; ")} in ${text}`);
          res.writeHead(400).end(parsed.errors.join("\n"));
          return;
        }
        this.received.push({ at: Date.now(), status: 202, report: parsed.report });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return new URL(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/reports`);
  }

  /** The newest report of a pod. */
  latest(pod: string): SidecarReport | undefined {
    for (let i = this.received.length - 1; i >= 0; i--) {
      const r = this.received[i]!;
      if (r.report.pod.name === pod) return r.report;
    }
    return undefined;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function tokenFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-sidecar-test-"));
  const file = path.join(dir, "token");
  writeFileSync(file, TOKEN + "\n");
  return file;
}

export interface TestConsumer {
  consumer: Consumer;
  /** Messages handled, as `partition/offset`. */
  handled: string[];
  stop(): Promise<void>;
}

/**
 * A group member connecting from `localAddress`. `handler` may hang (a poison message); stop() releases it.
 */
export async function startConsumer(
  localAddress: string,
  groupId: string,
  topic: string,
  handler?: (payload: EachMessagePayload, released: Promise<void>) => Promise<void>,
): Promise<TestConsumer> {
  const kafka = new Kafka({
    clientId: `sidecar-test-${localAddress}`,
    brokers: brokers(),
    logLevel: logLevel.NOTHING,
    socketFactory: socketFactoryFrom(localAddress),
  });
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 200,
  });
  const handled: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async (payload) => {
      if (handler) await handler(payload, released);
      handled.push(`${payload.partition}/${payload.message.offset}`);
    },
  });
  return {
    consumer,
    handled,
    stop: async () => {
      release();
      await consumer.disconnect();
    },
  };
}

export interface TestSidecar {
  loop: SidecarLoop;
  metrics: SidecarMetrics;
  kafka: KafkajsPodKafka;
  stop(): Promise<void>;
}

/** The sidecar's loop, pusher and Kafka reader in this process, as sidecar/main.ts wires them. */
export function startSidecar(
  config: Omit<LoopConfig, "pod"> & { podName: string; podIp: string; kafka?: KafkaConnection },
  url: URL,
  token: string,
): TestSidecar {
  const logger = createLogger("sidecar-test", process.env.LOG_LEVEL === undefined ? "silent" : "debug");
  const kafka = new KafkajsPodKafka({
    connection: config.kafka ?? { brokers: brokers() },
    clientId: `sidecar-${config.podName}`,
    logger,
  });
  const metrics = new SidecarMetrics(() => pusher.lastAccepted());
  const pusher = new ReportPusher({
    post: httpPoster(url, undefined, 5_000),
    readToken: tokenFromFile(token),
    logger,
    onOutcome: (o) => metrics.pushed(o.status, o.ok),
  });
  const loop = new SidecarLoop({
    config: { ...config, pod: { namespace: "sidecar-test", name: config.podName, ip: config.podIp } },
    kafka,
    pusher,
    metrics,
    logger,
  });
  loop.start();
  return {
    loop,
    metrics,
    kafka,
    stop: async () => {
      await loop.stop();
      await pusher.stop();
      await kafka.close();
    },
  };
}
