/**
 * `npm run bench -- controller [--n 1000] [--per-trigger]`: the controller at scale, on the local stack, run as it ships
 * (compiled JS, leader election off, log level info) in a process of its own. N ScaledObjects (1,000 and
 * 10,000 by default; `--n` for one size) target N Deployments at 0 replicas (no pods), over 10 shared topics
 * of 10 partitions and 100 shared consumer groups with no lag, polling every 10 s.
 *
 * Printed per N: the controller's RSS empty and in steady state (VmRSS of its process), its TCP connections
 * to the broker (one broker here: the connections also reach it as partition leader), the time to create
 * the objects (many parallel requests) and from the first creation until every object was evaluated once,
 * what the start-up took (its writes by kind, CPU seconds per process: test/bench/startup.ts), the
 * evaluation-batch latency p50/p99 (the controller's lagscale_evaluation_batch_duration_seconds histogram)
 * over the start-up and, apart, over a steady window that begins once the start-up's writes are done, the
 * API server requests per second by verb in that window, and the Kafka requests per polling interval and per
 * round (one round per batch: the objects of an interval fall due in several sub-slots, loops.ts).
 * `--per-trigger` runs the controller with `--lag-reader=per-trigger` (one Kafka client per trigger, as KEDA
 * has) and names its figures `controller-per-trigger-<N>-...`, for comparison.
 *
 * API server requests are counted by a proxy in front of it that only this controller talks to
 * (test/support/counting-proxy.ts): the API server's own apiserver_request_total counts every client of
 * the shared stack, including the bench's own creations.
 *
 * LAGSCALE_BENCH_HEAPSNAPSHOT_DIR=<dir>: heap snapshots of the controller empty and in steady state (read them
 * with test/bench/heap-summary.ts; the snapshots themselves raise RSS). LAGSCALE_BENCH_CONTROLLER_NODE_OPTIONS:
 * NODE_OPTIONS for the controller, to compare settings; LAGSCALE_BENCH_CONTROLLER_ARGS: more controller flags.
 * LAGSCALE_BENCH_RS_WAIT_S: how long to wait for the Deployments' ReplicaSets (default 240 s).
 */
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { StackInfo } from "../stack/types.js";
import { countByVerb, startCountingProxy } from "../support/counting-proxy.js";
import {
  commitAtEnd,
  createNamespace,
  createTestTopic,
  kafka,
  kafkaTrigger,
  kubeRest,
  scaledObject,
  sleeperDeployment,
  startController,
  withAdmin,
} from "../support/controller.js";
import { compileController } from "./compiled.js";
import { bucketsBetween, histogramBuckets, histogramQuantile, observations } from "./histogram.js";
import { cpuSampler, stackPids, startupReport, writesQuiet } from "./startup.js";
import { counterTotal } from "../support/prom-text.js";
import { sleep, type ReactionBenchIO } from "./reaction.js";

const TOPICS = 10;
const PARTITIONS = 10;
const GROUPS = 100;
const POLL_S = 10;
/** Parallel creations: enough to keep the API server busy without swamping a 2-core machine. */
const CREATE_CONCURRENCY = 32;
/** Long enough for several polls of every object (each poll about ten batches, one per sub-slot). */
const STEADY_WINDOW_S = 60;
/** How long the bench waits for the Deployments' ReplicaSets before it creates the ScaledObjects. */
const RS_WAIT_MS = Number(process.env.LAGSCALE_BENCH_RS_WAIT_S ?? 240) * 1000;
const BATCH_HISTOGRAM = "lagscale_evaluation_batch_duration_seconds";
/** Consumer groups committed at once: each commit waits on its group coordinator, not on this machine. */
const COMMIT_CONCURRENCY = 20;
/** A folder here makes the controller write a heap snapshot (SIGUSR2) empty and in steady state. */
const HEAP_SNAPSHOT_DIR = process.env.LAGSCALE_BENCH_HEAPSNAPSHOT_DIR;
/** More controller flags, to compare settings (`--max-concurrent-reconciles=32`). */
const CONTROLLER_ARGS = (process.env.LAGSCALE_BENCH_CONTROLLER_ARGS ?? "").split(" ").filter(Boolean);
/** Node options for the controller, to compare V8 settings (the snapshot's are added). */
const CONTROLLER_NODE_OPTIONS = [
  process.env.LAGSCALE_BENCH_CONTROLLER_NODE_OPTIONS ?? "",
  HEAP_SNAPSHOT_DIR ? `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${HEAP_SNAPSHOT_DIR}` : "",
]
  .join(" ")
  .trim();

/** `--n 1000` or `--n=1000,10000` from argv; default both sizes. */
export function sizesFromArgv(argv: readonly string[]): number[] {
  const i = argv.findIndex((a) => a === "--n" || a.startsWith("--n="));
  if (i < 0) return [1000, 10_000];
  const raw = argv[i]?.includes("=") ? argv[i]?.split("=")[1] : argv[i + 1];
  const sizes = (raw ?? "").split(",").map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 50_000)) {
    throw new Error(`--n ${raw ?? ""}: give one or more whole numbers from 1 to 50000, such as --n 1000`);
  }
  return sizes;
}

/** A `kB` line of /proc/<pid>/status (VmRSS, RssAnon, RssFile) in MiB. */
function statusMiB(pid: number, field = "VmRSS"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]) / 1024;
}

const rssMiB = (pid: number): number => statusMiB(pid);

/**
 * The process's established TCP connections to any of `ports` on this machine: its socket inodes
 * (/proc/<pid>/fd) looked up in the kernel's TCP tables.
 */
function connectionsTo(pid: number, ports: ReadonlySet<number>): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // remote address:port (hex), state 01 = ESTABLISHED, inode
      const remotePort = parseInt(f[2]?.split(":")[1] ?? "", 16);
      if (f[3] === "01" && ports.has(remotePort) && inodes.has(f[9] ?? "")) n++;
    }
  }
  return n;
}

/**
 * With LAGSCALE_BENCH_HEAPSNAPSHOT_DIR set, asks the controller for a heap snapshot and waits until its file
 * is complete (node writes `Heap.<date>.<pid>...heapsnapshot` into the diagnostic folder).
 */
async function heapSnapshot(pid: number, label: string): Promise<void> {
  if (!HEAP_SNAPSHOT_DIR) return;
  const before = new Set(readdirSync(HEAP_SNAPSHOT_DIR));
  process.kill(pid, "SIGUSR2");
  let lastSize = -1;
  for (let waited = 0; waited < 300_000; waited += 2000) {
    await sleep(2000);
    const file = readdirSync(HEAP_SNAPSHOT_DIR).find((f) => !before.has(f) && f.endsWith(".heapsnapshot"));
    if (!file) continue;
    // complete once its size stops changing for one check
    const size = statSync(path.join(HEAP_SNAPSHOT_DIR, file)).size;
    if (size > 0 && size === lastSize) {
      renameSync(path.join(HEAP_SNAPSHOT_DIR, file), path.join(HEAP_SNAPSHOT_DIR, `${label}.heapsnapshot`));
      console.log(`  heap snapshot ${label}: ${path.join(HEAP_SNAPSHOT_DIR, `${label}.heapsnapshot`)}`);
      return;
    }
    lastSize = size;
  }
  throw new Error(`no heap snapshot from pid ${pid} in ${HEAP_SNAPSHOT_DIR} after 300 s`);
}

/**
 * The controller's /metrics. A busy controller with 10,000 objects (many series) can take longer than the
 * test helper's 5 s to answer, which is not what this bench measures: up to 60 s, three tries.
 */
async function scrape(port: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(60_000) });
      return await res.text();
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/**
 * Waits (up to `maxMs`) until the deployment controller has made a ReplicaSet for each of the `n` Deployments;
 * returns how many there are. kube-controller-manager writes at its client-side limit (20 requests/s by
 * default), so at 10,000 that takes longer than the bench waits: the rest is made during the start-up.
 */
async function replicaSetsCreated(
  rest: ReturnType<typeof kubeRest>,
  namespace: string,
  n: number,
  maxMs: number,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    // one item and the count of the rest: no need to list 10,000 objects to count them
    const list = await rest.get<{ items: unknown[]; metadata?: { remainingItemCount?: number } }>(
      `/apis/apps/v1/namespaces/${namespace}/replicasets`,
      { limit: 1 },
    );
    const count = list.items.length + (list.metadata?.remainingItemCount ?? 0);
    if (count >= n || Date.now() - started > maxMs) return count;
    await sleep(2000);
  }
}

/** Runs `f` over `items` with at most `concurrency` at once. */
async function parallel<T>(
  items: readonly T[],
  concurrency: number,
  f: (x: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const x = items[next++] as T;
        await f(x);
      }
    }),
  );
}

async function one(
  stack: StackInfo,
  io: ReactionBenchIO,
  n: number,
  main: string,
  lagReader: "shared" | "per-trigger",
): Promise<void> {
  // The figures of KEDA's way (one Kafka client per trigger) are named apart from the shipped default's.
  const id = lagReader === "per-trigger" ? `controller-per-trigger-${n}` : `controller-${n}`;
  const rest = kubeRest(stack);
  const ns = await createNamespace(stack, `bench-ctl-${n}`);
  const proxy = await startCountingProxy(stack.kubeconfig, mkdtempSync(path.join(tmpdir(), "bench-ctl-")));
  const k = kafka(stack.bootstrapServers);
  const topics = Array.from({ length: TOPICS }, (_, i) => `bench-ctl-${ns.name}-${i}`);
  const groups = Array.from({ length: GROUPS }, (_, i) => `g-bench-ctl-${ns.name}-${i}`);
  try {
    await withAdmin(k, async (admin) => {
      await parallel(topics, TOPICS, (t) => createTestTopic(admin, t, PARTITIONS));
      // each group commits at the end of the topic its objects read: lag 0, every object inactive
      const t0 = Date.now();
      await parallel(
        groups.map((g, i) => ({ g, topic: topics[i % TOPICS] ?? "" })),
        COMMIT_CONCURRENCY,
        ({ g, topic }) => commitAtEnd(admin, g, topic),
      );
      io.note(`${GROUPS} consumer groups committed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });
    const controller = await startController({
      stack: { ...stack, kubeconfig: proxy.kubeconfig },
      name: `bench-ctl-${ns.name}`,
      watchNamespaces: [ns.name],
      compiledMain: main,
      extraArgs: ["--log-level=info", `--lag-reader=${lagReader}`, ...CONTROLLER_ARGS],
      ...(CONTROLLER_NODE_OPTIONS ? { env: { NODE_OPTIONS: CONTROLLER_NODE_OPTIONS } } : {}),
    });
    try {
      const pid = controller.child.pid ?? 0;
      await sleep(5000);
      io.figure(`${id}-rss-empty`, rssMiB(pid).toFixed(1), "MiB");
      await heapSnapshot(pid, `empty-${n}`);

      const idx = Array.from({ length: n }, (_, i) => i);
      const cpu = cpuSampler({ controller: pid, ...stackPids(stack) });
      let t = Date.now();
      await parallel(idx, CREATE_CONCURRENCY, async (i) => {
        await rest.post(
          `/apis/apps/v1/namespaces/${ns.name}/deployments`,
          sleeperDeployment(ns.name, `d${i}`, 0),
        );
      });
      io.figure(`${id}-create-deployments`, ((Date.now() - t) / 1000).toFixed(1), "s");
      // The deployment controller's ReplicaSets are the stack's work, not lagscale's: out of the start-up.
      const replicaSets = await replicaSetsCreated(rest, ns.name, n, RS_WAIT_MS);
      io.note(`${replicaSets} ReplicaSets after ${((Date.now() - t) / 1000).toFixed(1)} s`);
      t = Date.now();
      const cpuAtCreate = cpu.sample();
      await parallel(idx, CREATE_CONCURRENCY, async (i) => {
        await rest.post(
          `/apis/lagscale.io/v1alpha1/namespaces/${ns.name}/scaledobjects`,
          scaledObject({
            namespace: ns.name,
            name: `so${i}`,
            target: `d${i}`,
            spec: { pollingInterval: POLL_S, minReplicaCount: 0, maxReplicaCount: 10 },
            triggers: [
              kafkaTrigger({
                brokers: stack.bootstrapServers,
                group: groups[i % GROUPS] ?? "",
                topic: topics[(i % GROUPS) % TOPICS] ?? "",
              }),
            ],
          }),
        );
      });
      const created = Date.now();
      io.figure(`${id}-create-scaledobjects`, ((created - t) / 1000).toFixed(1), "s");
      const re = new RegExp(`^lagscale_scaled_object_evaluations_total\\{namespace="${ns.name}",`, "gm");
      for (;;) {
        const evaluated = (await scrape(controller.metricsPort)).match(re)?.length ?? 0;
        if (evaluated >= n) break;
        if (Date.now() - t > 30 * 60_000) throw new Error(`only ${evaluated} of ${n} evaluated after 30 min`);
        // A scrape at 10,000 objects is a large text the controller builds on its one thread: every 10 s there
        // (not measured apart: a run that scraped every second had a 945 s start-up), every 1 s at 1,000.
        await sleep(Math.max(1000, n));
      }
      const allEvaluated = Date.now();
      io.figure(`${id}-all-evaluated`, ((allEvaluated - t) / 1000).toFixed(1), "s");
      io.note(
        `(from the first ScaledObject created; ${((allEvaluated - created) / 1000).toFixed(1)} s after the last)`,
      );
      const cpuAtEvaluated = cpu.sample();
      // The start-up's writes (finalizers, first status, Events) may still be under way: wait for a quiet poll.
      const quietFrom = await writesQuiet(proxy.seen, POLL_S * 1000, 15 * 60_000);
      io.figure(`${id}-startup-writes-done`, ((quietFrom - t) / 1000).toFixed(1), "s");
      startupReport(io, id, proxy.seen, t, cpuAtCreate, cpuAtEvaluated, (allEvaluated - t) / 1000);

      // Steady state: the histogram's buckets now and after the window; their difference is the window's.
      const textBefore = await scrape(controller.metricsPort);
      const startupBuckets = histogramBuckets(textBefore, BATCH_HISTOGRAM);
      io.figure(`${id}-startup-batch-p99`, histogramQuantile(0.99, startupBuckets).toFixed(3), "s");
      const before = {
        seen: proxy.seen.length,
        kafka: counterTotal(textBefore, "lagscale_kafka_requests_total"),
        objects: counterTotal(textBefore, "lagscale_evaluation_batch_objects_total"),
      };
      const cpuAtSteady = cpu.sample();
      const rssSamples: number[] = [];
      for (let s = 0; s < STEADY_WINDOW_S; s += 5) {
        await sleep(5000);
        rssSamples.push(rssMiB(pid));
      }
      const cpuAfterSteady = cpu.sample();
      const text = await scrape(controller.metricsPort);
      const window = proxy.seen.slice(before.seen);
      const byVerb = countByVerb(window);
      for (const verb of ["get", "list", "watch", "create", "patch", "update", "delete"]) {
        io.figure(
          `${id}-apiserver-${verb}-per-s`,
          ((byVerb[verb] ?? 0) / STEADY_WINDOW_S).toFixed(2),
          "requests/s",
        );
      }
      const reads = (byVerb.get ?? 0) + (byVerb.list ?? 0);
      // the acceptance line has no unit
      console.log(`bench: ${id}-apiserver-reads-per-s = ${(reads / STEADY_WINDOW_S).toFixed(2)}`);
      const paths = new Map<string, number>();
      for (const r of window.filter((x) => x.verb !== "watch")) {
        const key = `${r.verb} ${r.path.replace(/\/[^/]*\d[^/]*(?=\/|$)/g, "/*")}`;
        paths.set(key, (paths.get(key) ?? 0) + 1);
      }
      for (const [p, c] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, 5)) io.note(`  ${c} × ${p}`);
      const kafkaRequests = counterTotal(text, "lagscale_kafka_requests_total") - before.kafka;
      const steady = bucketsBetween(startupBuckets, histogramBuckets(text, BATCH_HISTOGRAM));
      const batches = observations(steady);
      // The objects of one interval fall due in several sub-slots (loops.ts): one lag-reader round each.
      io.figure(
        `${id}-kafka-requests-per-interval`,
        ((kafkaRequests * POLL_S) / STEADY_WINDOW_S).toFixed(1),
        "requests",
      );
      io.figure(
        `${id}-kafka-requests-per-round`,
        (kafkaRequests / Math.max(1, batches)).toFixed(1),
        "requests",
      );
      io.figure(`${id}-batch-p50`, histogramQuantile(0.5, steady).toFixed(3), "s");
      io.figure(`${id}-batch-p99`, histogramQuantile(0.99, steady).toFixed(3), "s");
      const objects = counterTotal(text, "lagscale_evaluation_batch_objects_total") - before.objects;
      io.note(
        `steady window of ${STEADY_WINDOW_S} s: ${batches} batches, ` +
          `${(objects / Math.max(1, batches)).toFixed(1)} objects per batch on average`,
      );
      // The controller's CPU (user + system) per object evaluated in the window: what bounds the batches.
      const steadyCpu = (cpuAfterSteady.controller ?? 0) - (cpuAtSteady.controller ?? 0);
      io.figure(`${id}-cpu-ms-per-evaluation`, ((steadyCpu * 1000) / Math.max(1, objects)).toFixed(3), "ms");
      io.note(
        `controller CPU in the window: ${((100 * steadyCpu) / STEADY_WINDOW_S).toFixed(0)} % of one core`,
      );
      io.figure(`${id}-rss`, Math.max(...rssSamples).toFixed(1), "MiB");
      const brokerPorts = new Set(stack.bootstrapServers.map((b) => Number(b.split(":").pop())));
      io.figure(`${id}-kafka-connections`, String(connectionsTo(pid, brokerPorts)), "connections");
      io.note(
        `last sample: anonymous ${statusMiB(pid, "RssAnon").toFixed(1)} MiB (heap, malloc), ` +
          `file ${statusMiB(pid, "RssFile").toFixed(1)} MiB (node, mapped code)` +
          (CONTROLLER_NODE_OPTIONS ? `; NODE_OPTIONS=${CONTROLLER_NODE_OPTIONS}` : ""),
      );
      await heapSnapshot(pid, `steady-${n}`);
    } finally {
      await controller.stop();
    }
  } finally {
    await proxy.close();
    await ns.remove();
    rest.close();
    // the controller is stopped: its groups have no members and can go, then the topics
    await withAdmin(k, async (admin) => {
      await admin
        .deleteGroups(groups)
        .catch((e: unknown) => io.note(`could not delete groups: ${String(e)}`));
      await admin
        .deleteTopics({ topics, timeout: 60_000 })
        .catch((e: unknown) => io.note(`could not delete topics: ${String(e)}`));
    }).catch((e: unknown) => io.note(`could not clean up Kafka: ${String(e)}`));
  }
}

export async function runControllerBench(
  stack: StackInfo,
  io: ReactionBenchIO,
  argv: readonly string[],
): Promise<void> {
  const sizes = sizesFromArgv(argv);
  const lagReader = argv.includes("--per-trigger") ? "per-trigger" : "shared";
  const compiled = await compileController();
  try {
    for (const n of sizes) await one(stack, io, n, compiled.main, lagReader);
  } finally {
    compiled.remove();
  }
}
