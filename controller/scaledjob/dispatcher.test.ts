/**
 * The dispatcher's order of work for one partition's batch, against fakes (a Job store standing in for the API
 * server, a consumer recording commits, a kafkajs-shaped payload): each Job exists before its offset is
 * committed, offsets go out in order, AlreadyExists counts as created, a refused create commits nothing and
 * pauses the partition, a crash between create and commit is healed by the next leader without a second Job,
 * and maxReplicaCount pauses before creating. The real broker and API server are in
 * test/controller/scaledjob-{dispatch,crash}.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KafkaMessage } from "kafkajs";
import { Registry } from "prom-client";
import { pino } from "pino";
import { validateScaledJob, type ScaledJob } from "../../core/crd/index.js";
import type { BatchJob } from "../../core/scaledjob/job-object.js";
import { KubeApiError } from "../kube/index.js";
import { parseTriggers, type ParsedKafkaTrigger } from "../scaledobject/spec.js";
import { dispatchEntry, KafkaMessageDispatch, type DispatchEntry } from "./dispatcher.js";
import type { JobClient } from "./jobs-client.js";
import { ScaledJobMetrics } from "./metrics.js";

const logger = pino({ level: "silent" });

function scaledJob(maxReplicaCount = 100): { sj: ScaledJob; trigger: ParsedKafkaTrigger } {
  const v = validateScaledJob({
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledJob",
    metadata: { name: "sj", namespace: "ns", uid: "u1", generation: 1 },
    spec: {
      maxReplicaCount,
      dispatch: { mode: "perMessage" },
      jobTargetRef: { template: { spec: { containers: [{ name: "w", image: "worker" }] } } },
      triggers: [
        {
          type: "kafka",
          metadata: { bootstrapServers: "b:9092", consumerGroup: "g", topic: "orders", lagThreshold: "1" },
        },
      ],
    },
  });
  if (!v.ok) assert.fail(JSON.stringify(v.errors));
  const r = parseTriggers(
    v.resolved.spec.triggers.map((t) => ({ ...t, metricType: "AverageValue" as const })),
    [],
  );
  assert.ok(r.ok && r.triggers[0]?.kind === "kafka");
  return { sj: { ...v.value, spec: v.resolved.spec } as ScaledJob, trigger: r.triggers[0] };
}

/** The API server's side: Jobs by name; `refuse` makes creates fail with that error. */
class FakeJobs implements JobClient {
  readonly store = new Map<string, BatchJob>();
  readonly log: string[];
  refuse: Error | undefined;
  running: BatchJob[] = [];
  constructor(log: string[]) {
    this.log = log;
  }
  list(): Promise<BatchJob[]> {
    return Promise.resolve([...this.running, ...this.store.values()]);
  }
  podsByJob(): Promise<Map<string, never[]>> {
    return Promise.resolve(new Map());
  }
  create(_ns: string, job: BatchJob): Promise<BatchJob> {
    const name = job.metadata.name ?? "";
    if (this.refuse) return Promise.reject(this.refuse);
    if (this.store.has(name)) {
      this.log.push(`exists ${name}`);
      return Promise.reject(new KubeApiError("POST", "/jobs", 409, "AlreadyExists", `${name} exists`));
    }
    this.store.set(name, job);
    this.log.push(`create ${name}`);
    return Promise.resolve(job);
  }
  delete(): Promise<void> {
    return Promise.resolve();
  }
}

interface Harness {
  log: string[];
  jobs: FakeJobs;
  events: string[];
  committed: Map<number, bigint>;
  /** Makes the next commit throw: the process "dies" between the create and the commit. */
  crashAtCommit: boolean;
  dispatch: KafkaMessageDispatch;
  entry: DispatchEntry;
  metrics: Registry;
}

function harness(maxReplicaCount?: number, shared?: Pick<Harness, "log" | "jobs" | "committed">): Harness {
  const log = shared?.log ?? [];
  const jobs = shared?.jobs ?? new FakeJobs(log);
  const committed = shared?.committed ?? new Map<number, bigint>();
  const events: string[] = [];
  const metrics = new Registry();
  const h = { log, jobs, events, committed, crashAtCommit: false, metrics } as Harness;
  const dispatch = new KafkaMessageDispatch({
    jobs,
    events: { event: (_o, type, reason, message) => void events.push(`${type} ${reason} ${message}`) },
    metrics: new ScaledJobMetrics(metrics),
    logger,
  });
  const { sj, trigger } = scaledJob(maxReplicaCount);
  const consumer = {
    commitOffsets: (offsets: { partition: number; offset: string }[]) => {
      if (h.crashAtCommit) return Promise.reject(new Error("killed"));
      for (const o of offsets) {
        const was = committed.get(o.partition) ?? 0n;
        assert.ok(BigInt(o.offset) > was, `commits only move forward: ${was} → ${o.offset}`);
        committed.set(o.partition, BigInt(o.offset));
        log.push(`commit ${o.partition}:${o.offset}`);
      }
      return Promise.resolve();
    },
    pause: () => undefined,
    resume: () => undefined,
    disconnect: () => Promise.resolve(),
  };
  const kafka = { admin: () => assert.fail("no admin in these tests") };
  h.dispatch = dispatch;
  h.entry = dispatchEntry("ns/sj", "id", sj, trigger, kafka, consumer);
  return h;
}

function message(offset: number): KafkaMessage {
  return {
    key: null,
    value: Buffer.from(`v${offset}`),
    timestamp: "1764655200000",
    attributes: 0,
    offset: String(offset),
    headers: {},
  };
}

/** A kafkajs-shaped payload of one partition's batch; records pauses and resolved offsets. */
function payload(partition: number, offsets: number[]) {
  const seen = { paused: 0, resolved: [] as string[] };
  return {
    seen,
    p: {
      batch: { topic: "orders", partition, messages: offsets.map(message) },
      isRunning: () => true,
      isStale: () => false,
      pause: () => {
        seen.paused++;
        return () => undefined;
      },
      resolveOffset: (o: string) => void seen.resolved.push(o),
      heartbeat: () => Promise.resolve(),
    },
  };
}

async function counter(r: Registry, name: string): Promise<number> {
  const m = (await r.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((a, v) => a + Number(v.value), 0);
}

test("each Job is created before its offset is committed, in order", async () => {
  const h = harness();
  const { p, seen } = payload(2, [0, 1, 2]);
  await h.dispatch.dispatchBatch(h.entry, p, logger);
  assert.deepEqual(h.log, [
    "create sj-2-0",
    "commit 2:1",
    "create sj-2-1",
    "commit 2:2",
    "create sj-2-2",
    "commit 2:3",
  ]);
  assert.deepEqual(seen.resolved, ["0", "1", "2"]);
  assert.equal(await counter(h.metrics, "lagscale_scaled_job_jobs_created_total"), 3);
  const job = h.jobs.store.get("sj-2-1") as unknown as {
    spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } };
  };
  const env = job.spec.template.spec.containers[0]?.env ?? [];
  assert.ok(env.some((e) => e.name === "LAGSCALE_MESSAGE_VALUE" && e.value === "v1"));
});

test("AlreadyExists counts as created: the offset is committed, no Job made twice", async () => {
  const h = harness();
  h.jobs.store.set("sj-0-0", { metadata: { name: "sj-0-0" }, spec: {} } as BatchJob);
  const { p } = payload(0, [0, 1]);
  await h.dispatch.dispatchBatch(h.entry, p, logger);
  assert.deepEqual(h.log, ["exists sj-0-0", "commit 0:1", "create sj-0-1", "commit 0:2"]);
  assert.equal(await counter(h.metrics, "lagscale_scaled_job_jobs_created_total"), 1);
});

test("a refused create commits nothing, pauses the partition, and says why", async () => {
  const h = harness();
  h.jobs.refuse = new KubeApiError(
    "POST",
    "/jobs",
    422,
    "Invalid",
    "spec.template.spec.containers[0].image: Required",
  );
  const { p, seen } = payload(1, [5, 6]);
  await h.dispatch.dispatchBatch(h.entry, p, logger);
  assert.deepEqual(h.log, [], "no Job, no commit; offset 6 not tried past the refused 5");
  assert.equal(seen.paused, 1);
  assert.deepEqual(seen.resolved, []);
  assert.match(
    h.dispatch.blocked("ns/sj") ?? h.entry.blocked ?? "",
    /sj-1-5 .*offset 5 could not be created .*image/,
  );
  assert.equal(h.events.length, 1);
  assert.match(h.events[0] ?? "", /^Warning JobCreateFailed /);
  assert.equal(await counter(h.metrics, "lagscale_scaled_job_job_create_failures_total"), 1);
  assert.equal(h.entry.inflight, 0, "the slot is given back");
  for (const t of h.entry.timers) clearTimeout(t);

  // Fixed: the same messages go out, none skipped, and the block clears.
  h.jobs.refuse = undefined;
  await h.dispatch.dispatchBatch(h.entry, payload(1, [5, 6]).p, logger);
  assert.deepEqual(h.log, ["create sj-1-5", "commit 1:6", "create sj-1-6", "commit 1:7"]);
  assert.equal(h.entry.blocked, undefined);
});

test("a crash between create and commit: the next leader meets the Job and commits, nothing twice", async () => {
  const first = harness();
  await first.dispatch.dispatchBatch(first.entry, payload(0, [0, 1]).p, logger);
  first.crashAtCommit = true;
  await assert.rejects(first.dispatch.dispatchBatch(first.entry, payload(0, [2, 3]).p, logger), /killed/);
  assert.equal(first.committed.get(0), 2n, "offset 2's Job exists, its commit was lost");

  // The next leader reads from the committed offset again, against the same API server and group.
  const next = harness(undefined, first);
  await next.dispatch.dispatchBatch(next.entry, payload(0, [2, 3]).p, logger);
  assert.deepEqual(first.log, [
    "create sj-0-0",
    "commit 0:1",
    "create sj-0-1",
    "commit 0:2",
    "create sj-0-2",
    "exists sj-0-2",
    "commit 0:3",
    "create sj-0-3",
    "commit 0:4",
  ]);
  assert.deepEqual([...first.jobs.store.keys()].sort(), ["sj-0-0", "sj-0-1", "sj-0-2", "sj-0-3"]);
});

test("at maxReplicaCount the partition pauses before creating; a finished Job frees a slot", async () => {
  const h = harness(2);
  const running = (name: string, done: boolean): BatchJob =>
    ({
      metadata: { name },
      spec: {},
      status: done ? { conditions: [{ type: "Complete", status: "True" }] } : {},
    }) as BatchJob;
  h.jobs.running = [running("other-a", false), running("other-b", false)];
  const { p, seen } = payload(0, [0]);
  await h.dispatch.dispatchBatch(h.entry, p, logger);
  assert.deepEqual(h.log, []);
  assert.equal(seen.paused, 1);
  for (const t of h.entry.timers) clearTimeout(t);

  h.jobs.running = [running("other-a", true), running("other-b", false)];
  h.entry.countedAt = 0; // the recheck interval has passed
  await h.dispatch.dispatchBatch(h.entry, payload(0, [0, 1]).p, logger);
  assert.deepEqual(h.log, ["create sj-0-0", "commit 0:1"], "one slot free: one Job, then paused again");
  for (const t of h.entry.timers) clearTimeout(t);
});
