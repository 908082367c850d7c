/**
 * The sidecar's loop: read this pod's partitions from Kafka, classify the pod, hand the report to the pusher,
 * wait the adaptive interval (sidecar/timing.ts), repeat.
 *
 * With the end-offset watch on, an idle pod reads only its partitions' offsets every fast interval (one
 * OffsetFetch and one ListOffsets per leader, no DescribeGroups) and reports only when its lag changed; the
 * full reading still happens every slow interval. Off (the default), an idle pod costs one reading per slow
 * interval and a burst on an idle pod is the controller's to see first.
 *
 * A Kafka error never ends the loop: it is logged (the first, then every tenth), counted, and the reading
 * is retried after a backoff. Only a bug can end it, and then /healthz says so.
 */
import type { Logger } from "../core/log.js";
import type { SidecarReport } from "../core/reports/schema.js";
import { classify, EMPTY_MEMORY, toReport, type ClassifyMemory, type PodReading } from "./classify.js";
import type { SidecarConfig } from "./config.js";
import { readOffsetsOnly, readPod, type PodKafka, type ReadPodOptions } from "./kafka.js";
import type { SidecarMetrics } from "./metrics.js";
import { backoffMs, crossesThreshold, nextInterval } from "./timing.js";
import { errorText } from "../core/errors.js";

export type LoopConfig = Pick<
  SidecarConfig,
  | "pod"
  | "scaledObject"
  | "consumerGroup"
  | "topic"
  | "lagThreshold"
  | "offsetResetPolicy"
  | "clientIdPrefix"
  | "fastIntervalMs"
  | "slowIntervalMs"
  | "stallWindowMs"
  | "rateWindowMs"
  | "endOffsetWatch"
>;

export interface LoopOptions {
  readonly config: LoopConfig;
  readonly kafka: PodKafka;
  readonly pusher: { offer(report: SidecarReport, urgent: boolean): void };
  readonly metrics?: SidecarMetrics | undefined;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

function difference(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [api, n] of Object.entries(after)) out[api] = n - (before[api] ?? 0);
  return out;
}

export class SidecarLoop {
  private stopped = false;
  private wake: (() => void) | undefined;
  private crashed: string | undefined;
  private done: Promise<void> | undefined;

  constructor(private readonly options: LoopOptions) {}

  start(): void {
    this.done ??= this.run().catch((err: unknown) => {
      this.crashed = err instanceof Error ? (err.stack ?? err.message) : String(err);
      this.options.logger.fatal({ err }, "the report loop stopped");
    });
  }

  /** For /healthz: undefined while the loop runs (whatever Kafka and the controller do). */
  health(): string | undefined {
    return this.crashed === undefined ? undefined : `the report loop stopped: ${this.crashed.split("\n")[0]}`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wake = finish;
    });
  }

  private async run(): Promise<void> {
    const { config, kafka, pusher, metrics, logger } = this.options;
    const now = this.options.now ?? Date.now;
    const random = this.options.random ?? Math.random;
    const log = logger.child({ scaledObject: config.scaledObject, consumerGroup: config.consumerGroup });
    const readOptions: ReadPodOptions = {
      consumerGroup: config.consumerGroup,
      podIp: config.pod.ip,
      clientIdPrefix: config.clientIdPrefix,
      topic: config.topic,
      offsetResetPolicy: config.offsetResetPolicy,
    };
    let memory: ClassifyMemory = EMPTY_MEMORY;
    let previousLag: number | undefined;
    let previousState: string | undefined;
    let stalled = new Set<string>();
    let lastFull: PodReading | undefined;
    let slow = false;
    let failures = 0;

    while (!this.stopped) {
      const watchOnly =
        config.endOffsetWatch &&
        slow &&
        lastFull !== undefined &&
        now() - lastFull.observedAt < config.slowIntervalMs;
      const before = kafka.requests();
      let reading: PodReading;
      try {
        reading = watchOnly
          ? await readOffsetsOnly(kafka, readOptions, lastFull!, now)
          : await readPod(kafka, readOptions, now);
      } catch (err) {
        metrics?.reading(difference(before, kafka.requests()));
        metrics?.kafkaError();
        failures++;
        const retryInMs = backoffMs("error", failures, random());
        if (failures === 1 || failures % 10 === 0) {
          log.warn({ err: errorText(err), failures, retryInMs }, "cannot read the consumer group from Kafka");
        }
        await this.sleep(retryInMs);
        continue;
      }
      metrics?.reading(difference(before, kafka.requests()));
      if (failures > 0) log.info({ failures }, "reading Kafka again");
      failures = 0;

      const c = classify(reading, memory, config);
      memory = c.memory;
      if (watchOnly && c.lag === previousLag) {
        await this.sleep(config.fastIntervalMs);
        continue;
      }
      if (!watchOnly) lastFull = reading;

      const urgent = crossesThreshold(previousLag, c.lag, config.lagThreshold);
      pusher.offer(toReport(config, reading, c, urgent), urgent);
      const nowStalled = new Set(
        c.partitions.filter((p) => p.stalled).map((p) => `${p.topic}/${p.partition}`),
      );
      metrics?.classified(c.state, c.lag, nowStalled.size);
      for (const p of c.partitions) {
        if (p.stalled && !stalled.has(`${p.topic}/${p.partition}`)) {
          log.warn(
            {
              topic: p.topic,
              partition: p.partition,
              committedOffset: p.committedOffset,
              lag: p.lag,
              stalledForMs: p.stalledForMs,
            },
            "partition stalled: lag and no committed-offset progress",
          );
        }
      }
      stalled = nowStalled;
      if (c.state !== previousState) {
        log.info(
          {
            state: c.state,
            lag: c.lag,
            partitions: c.partitions.length,
            groupState: reading.groupState,
            unsupported: reading.unsupported,
          },
          `pod is ${c.state}`,
        );
      }
      if (urgent)
        log.debug(
          { lag: c.lag, lagThreshold: config.lagThreshold },
          "lag crossed the threshold: urgent report",
        );
      previousState = c.state;

      const interval = nextInterval(
        { lag: c.lag, previousLag, state: c.state },
        config.fastIntervalMs,
        config.slowIntervalMs,
      );
      previousLag = c.lag;
      slow = interval !== config.fastIntervalMs || config.fastIntervalMs === config.slowIntervalMs;
      await this.sleep(slow && config.endOffsetWatch ? config.fastIntervalMs : interval);
    }
  }
}
