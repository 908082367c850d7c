/**
 * `npm run bench`: the batched lag reader against a naive one (one kafkajs client per trigger, as KEDA has
 * one client per scaler), on a real broker, in the same process and the same rounds. A benchmark, not a test:
 * it prints figures, one per line, `bench: <name> = <value> <unit>`, and fails only when it cannot run.
 *
 * Broker: the stack in $LAGSCALE_STACK_FILE, else the cluster in KAFKA_BOOTSTRAP_SERVERS, else the local stack
 * (reused when it runs, brought up and taken down again otherwise).
 *
 * Shape (defaults; each can be changed by environment for a quick run):
 *   BENCH_TOPICS=100 × BENCH_PARTITIONS=100 partitions, BENCH_GROUPS=100 consumer groups,
 *   BENCH_TRIGGERS=1000 triggers (each group over 10 topics, each topic read by 10 groups),
 *   BENCH_ROUNDS=10 timed rounds after one warm-up round, stopping early after BENCH_BUDGET_S=300 seconds.
 *
 * `npm run bench -- reaction`: the controller's reaction to a burst with and without the end-offset watch
 * (test/bench/reaction.ts), on the local stack.
 *
 * `npm run bench -- sidecar`: lagscale with sidecar reports against polling only, the Kafka requests of
 * both, and the sidecar's RSS and CPU (test/bench/sidecar.ts), on the local stack.
 *
 * `npm run bench -- scaledjob`: per-message dispatch's Jobs per second and the time from a message's
 * production to its Job's pod running (test/bench/scaledjob.ts), on the local stack.
 * `npm run bench -- controller [--n 1000] [--per-trigger]`: the controller with 1,000 and 10,000 ScaledObjects:
 * RSS, batch latency, API server and Kafka requests (test/bench/controller.ts), on the local stack; with
 * `--per-trigger`, one Kafka client per trigger as KEDA has, for comparison.
 */
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import kafkajs from "kafkajs";
import type { Admin } from "kafkajs";
import { pino } from "pino";
import { BatchedLagReader } from "../../core/kafka/batched-reader.js";
import {
  sumCounts,
  type LagReadResult,
  type LagRequest,
  type RequestCounts,
} from "../../core/kafka/types.js";
import { OffsetCommitter, uniqueName } from "../lag/support.js";
import { loadStack } from "../support/stack.js";
import { NaiveLagReader } from "./naive-reader.js";
import type { StackInfo } from "../stack/types.js";
import { runReactionBench, type ReactionBenchIO } from "./reaction.js";
import { measureReaderProcess } from "./reader-process.js";
import { runScaledJobBench } from "./scaledjob.js";
import { runSidecarBench } from "./sidecar.js";
import { runControllerBench } from "./controller.js";

const { Kafka, logLevel, Partitioners } = kafkajs;

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${raw} must be a positive integer`);
  return n;
}

const TOPICS = envInt("BENCH_TOPICS", 100);
const PARTITIONS = envInt("BENCH_PARTITIONS", 100);
const GROUPS = envInt("BENCH_GROUPS", 100);
const TRIGGERS = envInt("BENCH_TRIGGERS", 1000);
const ROUNDS = envInt("BENCH_ROUNDS", 10);
const BUDGET_MS = envInt("BENCH_BUDGET_S", 300) * 1000;
const SETUP_TIMEOUT_MS = 180_000;

function figure(name: string, value: number | string, unit: string): void {
  const v = typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : value;
  console.log(`bench: ${name} = ${v} ${unit}`);
}

function note(line: string): void {
  process.stderr.write(`bench: # ${line}\n`);
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

const MiB = 1024 * 1024;

/** A full garbage collection, so that heap figures are what is retained. */
const collect: () => void = (() => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as unknown;
  return typeof gc === "function" ? () => (gc as () => void)() : () => undefined;
})();

function memory(): { heap: number; rss: number } {
  collect();
  collect();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

function diff(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = {};
  for (const [api, n] of Object.entries(after))
    if (n - (before[api] ?? 0) > 0) out[api] = n - (before[api] ?? 0);
  return out;
}

async function resolveBrokers(): Promise<{ brokers: string[]; source: string; down?: () => Promise<void> }> {
  if (process.env.LAGSCALE_STACK_FILE) {
    return { brokers: loadStack().kafka.bootstrapServers, source: "$LAGSCALE_STACK_FILE" };
  }
  const env = process.env.KAFKA_BOOTSTRAP_SERVERS?.trim();
  if (env) return { brokers: env.split(",").map((s) => s.trim()), source: "KAFKA_BOOTSTRAP_SERVERS" };
  const { ensureStack } = await import("../stack/stack.js");
  const { info, startedHere, down } = await ensureStack({ progress: (line) => note(`stack: ${line}`) });
  return {
    brokers: info.kafka.bootstrapServers,
    source: startedHere ? "local stack (started for the bench)" : "local stack (running)",
    ...(startedHere && process.env.LAGSCALE_KEEP_STACK !== "1" ? { down } : {}),
  };
}

async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + SETUP_TIMEOUT_MS;
  for (let i = 0; i < topics.length; i += 20) {
    const batch = topics.slice(i, i + 20);
    for (;;) {
      try {
        const { topics: meta } = await admin.fetchTopicMetadata({ topics: batch });
        if (meta.every((t) => t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leader >= 0)))
          break;
      } catch {
        // Freshly created topics are unknown to the broker's metadata for a moment.
      }
      if (Date.now() > deadline) throw new Error(`topics have no leaders after ${SETUP_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

interface Setup {
  topics: string[];
  groups: string[];
  triggers: { id: string; request: LagRequest }[];
}

async function setUp(admin: Admin, brokers: string[]): Promise<Setup> {
  const prefix = uniqueName("bench");
  const topics = Array.from({ length: TOPICS }, (_, i) => `${prefix}-t${i}`);
  const groups = Array.from({ length: GROUPS }, (_, i) => `${prefix}-g${i}`);

  let t = Date.now();
  // One CreateTopics per 10 topics: the broker creates 1,000 partitions a request comfortably.
  for (let i = 0; i < topics.length; i += 10) {
    await admin.createTopics({
      topics: topics
        .slice(i, i + 10)
        .map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })),
      waitForLeaders: false,
      timeout: 60_000,
    });
  }
  await waitForLeaders(admin, topics);
  figure("setup-create-topics", (Date.now() - t) / 1000, "s");

  // A few messages per partition, so that offsets differ from partition to partition.
  t = Date.now();
  const client = new Kafka({ clientId: "lagscale-bench-producer", brokers, logLevel: logLevel.NOTHING });
  const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const deadline = Date.now() + SETUP_TIMEOUT_MS;
  for (let i = 0; i < topics.length; i += 10) {
    const batch = {
      acks: -1,
      topicMessages: topics.slice(i, i + 10).map((topic, j) => ({
        topic,
        messages: Array.from({ length: PARTITIONS }, (_, partition) =>
          Array.from({ length: 1 + ((partition + i + j) % 3) }, () => ({ partition, value: "x" })),
        ).flat(),
      })),
    };
    // A partition whose leader is announced may still be loading ("not the leader") for a moment.
    for (;;) {
      try {
        await producer.sendBatch(batch);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
  await producer.disconnect();

  // Trigger i belongs to group g = i mod G, its k-th; group g reads topics g, g+s, g+2s, ... (s = T / triggers
  // per group; with the defaults 10 topics per group, 10 groups per topic), one trigger per (group, topic).
  const triggers: Setup["triggers"] = [];
  const topicsOf = new Map<string, Set<string>>();
  const stride = Math.max(1, Math.floor(TOPICS / Math.ceil(TRIGGERS / GROUPS)));
  for (let i = 0; i < TRIGGERS; i++) {
    const g = i % GROUPS;
    const k = Math.floor(i / GROUPS);
    const topic = topics[(g + k * stride) % TOPICS]!;
    const group = groups[g]!;
    let set = topicsOf.get(group);
    if (!set) topicsOf.set(group, (set = new Set()));
    set.add(topic);
    triggers.push({ id: String(i), request: { cluster: { brokers }, consumerGroup: group, topic } });
  }

  // Each group commits offset 1 on even partitions of its topics and nothing on odd ones.
  const committer = new OffsetCommitter(brokers);
  try {
    for (const [group, set] of topicsOf) {
      const offsets: Record<string, Record<number, number>> = {};
      for (const topic of set) {
        offsets[topic] = Object.fromEntries(
          Array.from({ length: Math.ceil(PARTITIONS / 2) }, (_, h) => [2 * h, 1] as const),
        );
      }
      await committer.commit(group, offsets);
    }
  } finally {
    await committer.close();
  }
  figure("setup-produce-and-commit", (Date.now() - t) / 1000, "s");
  return { topics, groups, triggers };
}

interface Side {
  name: "batched" | "naive";
  read(trigger: Setup["triggers"][number]): Promise<LagReadResult>;
  requests(): RequestCounts;
  times: number[];
  perRound: RequestCounts[];
  errors: number;
}

async function round(side: Side, triggers: Setup["triggers"]): Promise<LagReadResult[]> {
  const before = { ...side.requests() };
  const t0 = performance.now();
  const results = await Promise.all(triggers.map((t) => side.read(t)));
  side.times.push(performance.now() - t0);
  side.perRound.push(diff(side.requests(), before));
  const failed = results.filter((r) => !r.ok);
  side.errors += failed.length;
  if (failed[0] && !failed[0].ok)
    note(`${side.name}: ${failed.length} reads failed, e.g. ${failed[0].error}`);
  return results;
}

function sameOffsets(a: LagReadResult, b: LagReadResult): boolean {
  if (!a.ok || !b.ok || a.partitions.length !== b.partitions.length) return false;
  return a.partitions.every((p, i) => {
    const q = b.partitions[i]!;
    return p.partition === q.partition && p.committed === q.committed && p.latest === q.latest;
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const { brokers, source, down } = await resolveBrokers();
  note(`broker ${brokers.join(",")} from ${source}`);
  const client = new Kafka({
    clientId: "lagscale-bench-admin",
    brokers,
    logLevel: logLevel.NOTHING,
    requestTimeout: 60_000,
  });
  const admin = client.admin();
  await admin.connect();
  let setup: Setup | undefined;
  const batched = new BatchedLagReader({ logger: pino({ level: "silent" }) });
  const naive = new NaiveLagReader();
  try {
    setup = await setUp(admin, brokers);
    const { triggers } = setup;
    figure("triggers", triggers.length, "count");
    figure("consumer-groups", GROUPS, "count");
    figure("partitions", TOPICS * PARTITIONS, "count");

    const sides: Side[] = [
      {
        name: "batched",
        read: (t) => batched.read(t.request),
        requests: () => batched.stats().requests,
        times: [],
        perRound: [],
        errors: 0,
      },
      {
        name: "naive",
        read: (t) => naive.read(t.id, t.request),
        requests: () => naive.requests,
        times: [],
        perRound: [],
        errors: 0,
      },
    ];
    const [b, n] = sides as [Side, Side];

    // Warm-up round: connections, metadata, coordinators. The naive reader's memory is measured around its own.
    const warmB = await round(b, triggers);
    const m1 = memory();
    const warmN = await round(n, triggers);
    const m2 = memory();
    const agree = warmB.filter((r, i) => sameOffsets(r, warmN[i]!)).length;
    figure("results-agree", agree, `of ${triggers.length} triggers`);
    figure("batched-warmup-requests", sumCounts(b.perRound[0]!), "requests");
    figure("naive-warmup-requests", sumCounts(n.perRound[0]!), "requests");
    figure("naive-clients", naive.clients, "count");
    for (const s of sides) {
      s.times = [];
      s.perRound = [];
    }

    // Timed rounds: both readers read every trigger each round, one after the other, alternating who goes first.
    const roundsStarted = Date.now();
    let rounds = 0;
    while (rounds < ROUNDS && Date.now() - roundsStarted < BUDGET_MS) {
      const order = rounds % 2 === 0 ? [b, n] : [n, b];
      for (const s of order) await round(s, triggers);
      rounds++;
    }
    figure("rounds", rounds, "count");

    const mean = (s: Side) => s.perRound.reduce((sum, r) => sum + sumCounts(r), 0) / s.perRound.length;
    for (const s of sides) {
      figure(`${s.name}-requests-per-round`, mean(s), "requests");
      const apis = new Set(s.perRound.flatMap((r) => Object.keys(r)));
      for (const api of [...apis].sort()) {
        const per = s.perRound.reduce((sum, r) => sum + (r[api] ?? 0), 0) / s.perRound.length;
        figure(`${s.name}-requests-per-round.${api}`, per, "requests");
      }
      figure(`${s.name}-round-p50`, percentile(s.times, 50), "ms");
      figure(`${s.name}-round-p99`, percentile(s.times, 99), "ms");
      figure(`${s.name}-errors`, s.errors, "reads");
    }
    // The batched reader's memory in a process of its own (compiled JS), every trigger read each round.
    const own = await measureReaderProcess(
      triggers.map((t) => t.request),
      Math.min(ROUNDS, 3),
    );
    figure("batched-process-rss-idle", own.idleRssMiB, "MiB");
    figure("batched-process-rss", own.rssMiB, "MiB");
    figure("batched-process-heap", own.heapMiB, "MiB");
    figure("batched-process-reader-rss", own.rssMiB - own.idleRssMiB, "MiB");
    figure("naive-heap", (m2.heap - m1.heap) / MiB, "MiB");
    figure("naive-rss", (m2.rss - m1.rss) / MiB, "MiB");
    const end = memory();
    figure("process-heap", end.heap / MiB, "MiB");
    figure("process-rss", end.rss / MiB, "MiB");
    figure("requests-per-round-ratio", mean(n) / mean(b), "x");
    figure("round-time-ratio-p50", percentile(n.times, 50) / percentile(b.times, 50), "x");
    figure("round-time-ratio-p99", percentile(n.times, 99) / percentile(b.times, 99), "x");
  } finally {
    await batched.close();
    await naive.close();
    if (setup) {
      const t = Date.now();
      for (let i = 0; i < setup.groups.length; i += 20) {
        await admin.deleteGroups(setup.groups.slice(i, i + 20)).catch((e: unknown) => {
          const failed = (e as { groups?: { errorCode?: number; error?: { type?: string } }[] }).groups ?? [];
          const kinds = new Set(failed.map((g) => g.error?.type ?? `error code ${g.errorCode}`));
          note(`could not delete ${failed.length} groups: ${[...kinds].join(", ") || String(e)}`);
        });
      }
      for (let i = 0; i < setup.topics.length; i += 20) {
        await admin
          .deleteTopics({ topics: setup.topics.slice(i, i + 20), timeout: 60_000 })
          .catch((e: unknown) => note(`could not delete topics: ${String(e)}`));
      }
      note(
        `cleaned up ${setup.topics.length} topics and ${setup.groups.length} groups in ${(Date.now() - t) / 1000} s`,
      );
    }
    await admin.disconnect().catch(() => undefined);
    if (down) await down();
    note(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/** Runs a bench of the local stack (the one in $LAGSCALE_STACK_FILE, else reused or brought up). */
async function onStack(bench: (stack: StackInfo, io: ReactionBenchIO) => Promise<void>): Promise<void> {
  const started = Date.now();
  let stack = process.env.LAGSCALE_STACK_FILE ? loadStack() : undefined;
  let down: (() => Promise<void>) | undefined;
  if (!stack) {
    const { ensureStack } = await import("../stack/stack.js");
    const ensured = await ensureStack({ progress: (line) => note(`stack: ${line}`) });
    stack = ensured.info;
    if (ensured.startedHere && process.env.LAGSCALE_KEEP_STACK !== "1") down = ensured.down;
  }
  try {
    // Helpers that read the stack from the environment (the sidecar's cost) see the same one.
    process.env.LAGSCALE_STACK_FILE ??= path.join(stack.dir, "stack.json");
    await bench(stack, { figure, note, percentile });
  } finally {
    if (down) await down();
    note(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

const modes: Record<string, () => Promise<void>> = {
  reaction: () => onStack(runReactionBench),
  sidecar: () => onStack(runSidecarBench),
  scaledjob: () => onStack(runScaledJobBench),
  controller: () => onStack((stack, io) => runControllerBench(stack, io, process.argv.slice(3))),
};
const mode = process.argv[2];
if (mode !== undefined && !(mode in modes))
  throw new Error(
    `unknown bench mode ${JSON.stringify(mode)}: none (the lag reader), ${Object.keys(modes).join(", ")}`,
  );
(mode === undefined ? main() : modes[mode]!()).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
