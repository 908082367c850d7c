/**
 * `npm run bench -- scaledjob`: per-message dispatch on the local stack, with the controller compiled as it
 * ships. A benchmark, not a test: it prints `bench: <name> = <value> <unit>` lines and fails only when it
 * cannot run.
 *
 * - Dispatch rate: BENCH_SJ_MESSAGES (default 400) messages already in a 4-partition topic, a ScaledJob whose
 *   maxReplicaCount (10000) does not bound it and whose Jobs are created suspended (no pods: the figure is the
 *   dispatcher's, not the pod runner's); Jobs per second from the first to the last create the controller
 *   logged.
 * - Message to pod: after a warm-up message, BENCH_SJ_LATENCY_MESSAGES (default 60) messages produced one
 *   every 250 ms to a ScaledJob whose pods run; each pod prints the message's timestamp (the producer's create
 *   time) and the clock when its container started, read back from the pod runner's container logs: p50 and
 *   p99 of the difference. A note splits it: message to Job created (the dispatcher's part), the rest being
 *   the Job controller's and the pod runner's.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type { Kafka } from "kafkajs";
import type { KubeRest } from "../../controller/kube/index.js";
import {
  createDispatchScaledJob,
  listJobs,
  scaledJob,
  sendRoundRobin,
} from "../controller/scaledjob-support.js";
import {
  createNamespace,
  createTestTopic,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  startController,
  withAdmin,
  type ControllerProcess,
} from "../support/controller.js";
import { waitFor } from "../support/wait.js";
import type { StackInfo } from "../stack/types.js";
import { compileController } from "./compiled.js";
import { envInt, sleep, type ReactionBenchIO } from "./reaction.js";

const PARTITIONS = 4;

function trigger(stack: StackInfo, topic: string, group: string) {
  return kafkaTrigger({
    brokers: stack.bootstrapServers,
    group,
    topic,
    extra: { offsetResetPolicy: "earliest" },
  });
}

/** Times (ms) of the controller's "Job created" lines for one ScaledJob. */
function createTimes(c: ControllerProcess, scaledJobKey: string): number[] {
  return c.logs
    .filter((l) => l.msg === "Job created" && l.scaledJob === scaledJobKey)
    .map((l) => Date.parse(String(l.time)));
}

async function dispatchRate(
  stack: StackInfo,
  rest: KubeRest,
  k: Kafka,
  c: ControllerProcess,
  ns: string,
  io: ReactionBenchIO,
): Promise<void> {
  const n = envInt("BENCH_SJ_MESSAGES", 400);
  const topic = `rate-${ns}`;
  const group = `g-rate-${ns}`;
  await withAdmin(k, (admin) => createTestTopic(admin, topic, PARTITIONS));
  await sendRoundRobin(
    k,
    topic,
    PARTITIONS,
    Array.from({ length: n }, (_, i) => `m-${i}`),
  );
  await createDispatchScaledJob(
    stack,
    rest,
    scaledJob({
      namespace: ns,
      name: "rate",
      script: "exit 0",
      jobSpec: { suspend: true },
      spec: {
        pollingInterval: 5,
        maxReplicaCount: 10_000,
        successfulJobsHistoryLimit: 10_000,
        dispatch: { mode: "perMessage" },
      },
      triggers: [trigger(stack, topic, group)],
    }),
  );
  await waitFor(
    `${n} Jobs of ScaledJob rate`,
    async () => ((await listJobs(rest, ns, "rate")).length >= n ? true : undefined),
    300_000,
    500,
  );
  const times = createTimes(c, `${ns}/rate`);
  const s = (Math.max(...times) - Math.min(...times)) / 1000;
  io.note(
    `dispatch: ${times.length} Jobs created in ${s.toFixed(2)} s (${n} messages, ${PARTITIONS} partitions)`,
  );
  io.figure("scaledjob-dispatch-rate", s > 0 ? (times.length - 1) / s : 0, "jobs/s");
}

async function messageToPod(
  stack: StackInfo,
  rest: KubeRest,
  k: Kafka,
  c: ControllerProcess,
  ns: string,
  io: ReactionBenchIO,
): Promise<void> {
  const n = envInt("BENCH_SJ_LATENCY_MESSAGES", 60);
  const topic = `latency-${ns}`;
  const group = `g-latency-${ns}`;
  await withAdmin(k, (admin) => createTestTopic(admin, topic, PARTITIONS));
  await createDispatchScaledJob(
    stack,
    rest,
    scaledJob({
      namespace: ns,
      name: "latency",
      // The container's first act: the message's create time and the clock now, in ms.
      script: 'echo "started $LAGSCALE_MESSAGE_TIMESTAMP $(date +%s%3N)"',
      spec: {
        pollingInterval: 5,
        maxReplicaCount: 1000,
        successfulJobsHistoryLimit: 1000,
        dispatch: { mode: "perMessage" },
      },
      triggers: [trigger(stack, topic, group)],
    }),
  );
  const producer = k.producer();
  await producer.connect();
  try {
    // A warm-up message (partition 0, offset 0; not timed): the dispatch consumer has joined its group once
    // its Job exists.
    await producer.send({ topic, messages: [{ partition: 0, value: "warm-up" }] });
    await waitFor(
      "the warm-up message's Job",
      async () => ((await listJobs(rest, ns, "latency")).length > 0 ? true : undefined),
      120_000,
      250,
    );
    for (let i = 0; i < n; i++) {
      await producer.send({
        topic,
        messages: [{ partition: i % PARTITIONS, value: `m-${i}`, timestamp: String(Date.now()) }],
      });
      await sleep(250);
    }
  } finally {
    await producer.disconnect();
  }
  const podsDir = path.join(stack.dir, "pods", ns);
  const toJob: number[] = [];
  const latencies = await waitFor(
    `${n} pods of ScaledJob latency started`,
    () => {
      const out: number[] = [];
      toJob.length = 0;
      // Job name → when the controller created it: splits each latency into dispatch and Kubernetes' part.
      const created = new Map<string, number>();
      for (const l of c.logs) {
        if (l.msg === "Job created" && l.scaledJob === `${ns}/latency`)
          created.set(String(l.job), Date.parse(String(l.time)));
      }
      let dirs: string[] = [];
      try {
        dirs = readdirSync(podsDir).filter((d) => d.startsWith("latency-") && !d.startsWith("latency-0-0-"));
      } catch {
        return undefined;
      }
      for (const d of dirs) {
        let text = "";
        try {
          text = readFileSync(path.join(podsDir, d, "work.log"), "utf8");
        } catch {
          continue;
        }
        const m = /started (\d+) (\d+)/.exec(text);
        if (!m) continue;
        out.push((Number(m[2]) - Number(m[1])) / 1000);
        const job = created.get(d.replace(/-[a-z0-9]+$/, ""));
        if (job !== undefined) toJob.push((job - Number(m[1])) / 1000);
      }
      return out.length >= n ? out : undefined;
    },
    300_000,
    1000,
  );
  io.note(
    `message to pod: ${latencies.length} pods, one message every 250 ms; message to Job created ` +
      `p50 ${io.percentile(toJob, 50).toFixed(2)} s, p99 ${io.percentile(toJob, 99).toFixed(2)} s`,
  );
  io.figure("scaledjob-message-to-pod-p50", io.percentile(latencies, 50), "s");
  io.figure("scaledjob-message-to-pod-p99", io.percentile(latencies, 99), "s");
}

export async function runScaledJobBench(stack: StackInfo, io: ReactionBenchIO): Promise<void> {
  const compiled = await compileController();
  const rest = kubeRest(stack);
  const k = kafka(stack.bootstrapServers);
  const cleanups: (() => Promise<void>)[] = [];
  try {
    await installCrds(stack);
    const ns = await createNamespace(stack, "bench-sj");
    cleanups.push(ns.remove);
    // Debug level (startController's default): the "Job created" lines time the dispatch.
    const c = await startController({
      stack,
      name: `bench-sj-${ns.name}`,
      watchNamespaces: [ns.name],
      compiledMain: compiled.main,
    });
    cleanups.push(async () => void (await c.stop()));
    // Latency first: the Job controller writes a status for each suspended Job of the rate run, at its API
    // client's rate limit, and that backlog would delay the latency run's pods by many seconds.
    await messageToPod(stack, rest, k, c, ns.name, io);
    await dispatchRate(stack, rest, k, c, ns.name, io);
  } finally {
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
    rest.close();
    compiled.remove();
  }
}
