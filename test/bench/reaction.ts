/**
 * `npm run bench -- reaction`: how soon the controller (compiled, as it ships) writes `/scale` after a burst,
 * with the end-offset watch and with polling only, at the talk's pollingInterval 10, from 0 and from 1
 * running replica; and what the watch costs in Kafka requests per second. A benchmark, not a test: it prints
 * `bench: <name> = <value> <unit>` lines (docs/reaction.md reads them) and fails only when it cannot run.
 *
 * Two controllers run side by side on the local stack, one with the watch (1 s) and one with
 * `--end-offset-watch-interval=0`, each with two ScaledObjects (start at 0 and at 1 replica; lagThreshold 10,
 * max 5, 5 partitions) over Deployments whose pods only sleep, so the lag stays what was produced. Each
 * burst: reset (lag 0 by committing at the end, replicas back to the start), wait one poll so every
 * controller has seen the reset, produce 100 messages at a moment of the poll period drawn at random (as a
 * user's burst would come; each burst within its own slice of the period), then read the time of each `/scale` write from the controllers' `scaled` log lines.
 * BENCH_BURSTS (default 5) bursts. Before that, the watch alone on 1, 10 and 100 topics: its Kafka requests
 * per second.
 */
import { counterTotal } from "../support/prom-text.js";
import { pino } from "pino";
import { EndOffsetWatch } from "../../core/kafka/end-offset-watch.js";
import type { StackInfo } from "../stack/types.js";
import { createTopic } from "../stack/kafka/index.js";
import {
  commitAtEnd,
  createDeployment,
  createNamespace,
  createScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  produce,
  scaledObject,
  setDeploymentReplicas,
  sleeperDeployment,
  startController,
  withAdmin,
  type ControllerProcess,
  type TestNamespace,
} from "../support/controller.js";
import { compileController } from "./compiled.js";

export const POLL_S = 10;
const BURST = 100;

export interface ReactionBenchIO {
  figure(name: string, value: number | string, unit: string): void;
  note(line: string): void;
  percentile(values: number[], p: number): number;
}

interface Scenario {
  ns: TestNamespace;
  controller: ControllerProcess;
  watch: boolean;
  start: 0 | 1;
  topic: string;
  group: string;
  /** Seconds from the produce to the first `/scale` write, and to the write that reached 5. */
  first: number[];
  toMax: number[];
}

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${raw} must be a positive integer`);
  return n;
}

export const sleep = (ms: number): Promise<unknown> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for a moment of the poll period drawn at random (polls fall on multiples of it, loops.ts), so that
 * the polling side waits on average half a period, as a user's burst would. Burst `i` of `n` draws within
 * the i-th of n equal slices of the period, and within the `j`-th of n slices of its second (the end-offset
 * watch ticks on whole seconds), so that a few bursts cover both rather than bunching by chance (a run
 * whose bursts all fell late in the period made polling look fast). Returns that moment, in ms.
 */
export async function atRandomMomentOfPoll(i: number, j: number, n: number): Promise<number> {
  const span = POLL_S * 1000 - 1000;
  const second = Math.floor((500 + ((i % n) + Math.random()) * (span / n)) / 1000);
  const phase = Math.max(500, second * 1000 + (((j % n) + Math.random()) * 1000) / n);
  await sleep((phase - (Date.now() % (POLL_S * 1000)) + POLL_S * 1000) % (POLL_S * 1000));
  return phase;
}

/** 0 … n-1 in a random order: which slice of the poll period (or of the second) each burst falls in. */
export function shuffled(n: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The `/scale` writes of one ScaledObject (`namespace/name`) in the controller's log from line `from` on. */
export function scaleWrites(
  controller: ControllerProcess,
  from: number,
  scaledObject: string,
): { at: number; to: number }[] {
  return controller.logs
    .slice(from)
    .filter((l) => l.msg === "scaled" && l.scaledObject === scaledObject)
    .map((l) => ({ at: Date.parse(String(l.time)), to: Number(l.to) }));
}

/**
 * What the watch alone costs, on the real broker: Kafka requests per second with 1, 10 and 100 watched
 * topics of 5 partitions (one cluster), over BENCH_WATCH_S seconds each.
 */
async function watchCost(stack: StackInfo, io: ReactionBenchIO): Promise<void> {
  const seconds = envInt("BENCH_WATCH_S", 10);
  const prefix = `bench-watch-cost-${Date.now().toString(36)}`;
  const topics = Array.from({ length: 100 }, (_, i) => `${prefix}-${i}`);
  const k = kafka(stack.bootstrapServers);
  await withAdmin(k, async (admin) => {
    for (const topic of topics) await createTopic(admin, topic, 5);
  });
  const cluster = { brokers: stack.bootstrapServers };
  try {
    for (const n of [1, 10, 100]) {
      const watch = new EndOffsetWatch({ logger: pino({ level: "silent" }) });
      const watched = topics.slice(0, n).map((topic) => ({ cluster, topic }));
      watch.start({ topics: () => watched, onTick: () => undefined });
      await sleep(1500); // connection and first metadata
      const before = watch.stats();
      const t0 = Date.now();
      await sleep(seconds * 1000);
      const after = watch.stats();
      await watch.stop();
      const s = (Date.now() - t0) / 1000;
      io.figure(
        `watch-requests-per-s.topics-${n}`,
        (after.totalRequests - before.totalRequests) / s,
        "requests/s",
      );
      io.figure(
        `watch-list-offsets-per-s.topics-${n}`,
        ((after.requests.ListOffsets ?? 0) - (before.requests.ListOffsets ?? 0)) / s,
        "requests/s",
      );
    }
  } finally {
    await withAdmin(k, (admin) => admin.deleteTopics({ topics, timeout: 60_000 })).catch((e: unknown) =>
      io.note(`could not delete the watch-cost topics: ${String(e)}`),
    );
  }
}

export async function runReactionBench(stack: StackInfo, io: ReactionBenchIO): Promise<void> {
  const bursts = envInt("BENCH_BURSTS", 5);
  await watchCost(stack, io);
  const t = Date.now();
  const compiled = await compileController();
  io.figure("reaction-compile", (Date.now() - t) / 1000, "s");
  const rest = kubeRest(stack);
  const k = kafka(stack.bootstrapServers);
  const cleanups: (() => Promise<void>)[] = [];
  try {
    await installCrds(stack);
    const nsWatch = await createNamespace(stack, "bench-watch");
    cleanups.push(nsWatch.remove);
    const nsPoll = await createNamespace(stack, "bench-poll");
    cleanups.push(nsPoll.remove);
    // startController gives --log-level=debug (a second --log-level is refused); the bench reads info lines only.
    const common = { stack, compiledMain: compiled.main };
    const watched = await startController({
      ...common,
      name: `bench-watch-${nsWatch.name}`,
      watchNamespaces: [nsWatch.name],
    });
    cleanups.push(async () => void (await watched.stop()));
    const polling = await startController({
      ...common,
      name: `bench-poll-${nsPoll.name}`,
      watchNamespaces: [nsPoll.name],
      extraArgs: ["--end-offset-watch-interval=0"],
    });
    cleanups.push(async () => void (await polling.stop()));

    const scenarios: Scenario[] = [];
    for (const [ns, controller, watch] of [
      [nsWatch, watched, true],
      [nsPoll, polling, false],
    ] as const) {
      for (const start of [0, 1] as const) {
        const name = `from-${start}`;
        const topic = `bench-${ns.name}-${name}`;
        const group = `g-${topic}`;
        await withAdmin(k, async (admin) => {
          await createTopic(admin, topic, 5);
          await commitAtEnd(admin, group, topic);
        });
        await createDeployment(rest, sleeperDeployment(ns.name, name, start));
        await createScaledObject(
          rest,
          scaledObject({
            namespace: ns.name,
            name,
            target: name,
            spec: {
              pollingInterval: POLL_S,
              cooldownPeriod: 300,
              // From 1: no idle count, so that the inactive target stays at minReplicaCount.
              ...(start === 0 ? { idleReplicaCount: 0 } : {}),
              minReplicaCount: 1,
              maxReplicaCount: 5,
              // The bench puts the replicas back after each burst; the HPA must not bring them up again.
              advanced: {
                horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
              },
            },
            triggers: [kafkaTrigger({ brokers: stack.bootstrapServers, group, topic, lagThreshold: 10 })],
          }),
        );
        scenarios.push({ ns, controller, watch, start, topic, group, first: [], toMax: [] });
      }
    }

    const requestsAt = async () =>
      counterTotal(await watched.metrics(), "lagscale_end_offset_watch_requests_total");
    const r0 = await requestsAt();
    const rt0 = Date.now();
    const [order, within] = [shuffled(bursts), shuffled(bursts)];
    for (let b = 0; b < bursts; b++) {
      // Reset, then one full poll period (and the HPA's 15 s scale-up period) so every controller saw it.
      for (const s of scenarios) {
        await withAdmin(k, (admin) => commitAtEnd(admin, s.group, s.topic));
        await setDeploymentReplicas(rest, s.ns.name, `from-${s.start}`, s.start);
      }
      await sleep(16_000);
      const phase = await atRandomMomentOfPoll(order[b]!, within[b]!, bursts);
      const marks = scenarios.map((s) => s.controller.logs.length);
      const producedAt = Date.now();
      await Promise.all(scenarios.map((s) => produce(k, s.topic, BURST)));
      await sleep(2.5 * POLL_S * 1000);
      scenarios.forEach((s, i) => {
        const writes = scaleWrites(s.controller, marks[i]!, `${s.ns.name}/from-${s.start}`);
        const first = writes[0];
        const max = writes.find((w) => w.to === 5);
        if (first) s.first.push((first.at - producedAt) / 1000);
        if (max) s.toMax.push((max.at - producedAt) / 1000);
        if (!first || !max)
          io.note(
            `burst ${b + 1}: ${s.ns.name}/from-${s.start} wrote ${writes.map((w) => w.to).join(",") || "nothing"}`,
          );
      });
      io.note(
        `burst ${b + 1}/${bursts} at ${(phase / 1000).toFixed(1)} s into the poll period: ${scenarios.map((s) => `${s.watch ? "watch" : "polling"} from ${s.start}: ${s.first.at(-1)?.toFixed(1) ?? "-"} s`).join(", ")}`,
      );
    }
    const watchRate = (((await requestsAt()) - r0) * 1000) / (Date.now() - rt0);

    const p50 = (values: number[]) => (values.length > 0 ? io.percentile(values, 50) : Number.NaN);
    const get = (watch: boolean, start: 0 | 1) =>
      scenarios.find((s) => s.watch === watch && s.start === start)!;
    for (const start of [1, 0] as const) {
      const suffix = start === 1 ? "" : "-from-0";
      io.figure(`reaction-watch-p50${suffix}`, p50(get(true, start).first), "s");
      io.figure(`reaction-polling-p50${suffix}`, p50(get(false, start).first), "s");
      io.figure(`reaction-watch-to-5-p50${suffix}`, p50(get(true, start).toMax), "s");
      io.figure(`reaction-polling-to-5-p50${suffix}`, p50(get(false, start).toMax), "s");
    }
    io.figure("reaction-bursts", bursts, "count");
    io.figure("reaction-ratio", p50(get(false, 1).first) / p50(get(true, 1).first), "x");
    io.figure("watch-requests-per-s", watchRate, "requests/s");
    io.figure("watch-topics", 2, "count");
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => io.note(`clean-up: ${String(e)}`));
    rest.close();
    compiled.remove();
  }
}
