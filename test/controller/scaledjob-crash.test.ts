/**
 * The crash test of per-message dispatch, on the local stack (real Kafka, the real API server, two controller
 * processes on one Lease with short timings): 500 messages, the leader SIGKILLed at random moments of the
 * dispatch at least 5 times (the killed process started again each time, so two are always there), and in
 * the end exactly 500 Jobs, one per (partition, offset), none missing, none created twice, every offset
 * committed. The kill moments (seconds since the first message, Jobs existing then) and the counts are printed.
 *
 * The Jobs are created suspended: what is checked is the dispatch (a Job per message, exactly once), which the
 * Jobs' pods do not take part in, and 500 pods would load the shared machine for nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeRest } from "../../controller/kube/index.js";
import { sleep } from "../stack/process.js";
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
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import {
  committed,
  createDispatchScaledJob,
  listJobs,
  scaledJob,
  sendRoundRobin,
} from "./scaledjob-support.js";

const MESSAGES = 500;
const PARTITIONS = 4;
const KILLS = 6;
const LEASE = "lagscale-controller";

/** Job name → uid as seen by polling the API server; a name whose uid changes was deleted and created again. */
function trackJobs(rest: KubeRest, ns: string, scaledJobName: string) {
  const uids = new Map<string, string>();
  const recreated = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const list = await rest.get<{ items: { metadata: { name: string; uid: string } }[] }>(
          `/apis/batch/v1/namespaces/${ns}/jobs`,
          { labelSelector: `scaledjob.keda.sh/name=${scaledJobName}` },
        );
        for (const j of list.items) {
          const was = uids.get(j.metadata.name);
          if (was !== undefined && was !== j.metadata.uid) recreated.add(j.metadata.name);
          uids.set(j.metadata.name, j.metadata.uid);
        }
      } catch {
        // a failed poll is retried; the final list is checked separately
      }
      await sleep(100);
    }
  })();
  return {
    count: () => uids.size,
    recreated,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

test("per-message dispatch: the leader SIGKILLed 6 times during 500 messages, exactly 500 Jobs", async (t) => {
  const stack = loadStack();
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "sj-crash");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const topic = `crash-${ns.name}`;
  const group = `g-crash-${ns.name}`;
  await withAdmin(k, (admin) => createTestTopic(admin, topic, PARTITIONS));

  let started = 0;
  const start = () =>
    startController({
      stack,
      name: `crash-${++started}-${ns.name}`,
      watchNamespaces: [ns.name],
      leaderElect: true,
      leaseName: LEASE,
      leaseNamespace: ns.name,
      leaseDuration: "4s",
      renewDeadline: "3s",
      retryPeriod: "1s",
    });
  const procs: ControllerProcess[] = await Promise.all([start(), start()]);
  const all: ControllerProcess[] = [...procs];
  t.after(async () => {
    await Promise.all(all.map((p) => p.stop("SIGKILL")));
  });

  /** The live process holding the Lease (its identity is POD_NAME + "_" + random) once it leads. */
  const leader = () =>
    waitFor(
      "a live controller holding the lease",
      async () => {
        const lease = await rest.get<{ spec?: { holderIdentity?: string } }>(
          `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/${LEASE}`,
        );
        const holder = lease.spec?.holderIdentity ?? "";
        const p = procs.find((x) => holder.startsWith(`${x.name}_`));
        return p && p.logs.some((l) => l.msg === "evaluating ScaledObjects and ScaledJobs") ? p : undefined;
      },
      60_000,
      200,
    );
  await leader();

  await createDispatchScaledJob(
    stack,
    rest,
    scaledJob({
      namespace: ns.name,
      name: "crash",
      script: "exit 0",
      jobSpec: { suspend: true },
      spec: {
        pollingInterval: 1,
        maxReplicaCount: 1000,
        successfulJobsHistoryLimit: 1000,
        failedJobsHistoryLimit: 1000,
        dispatch: { mode: "perMessage" },
      },
      triggers: [
        kafkaTrigger({
          brokers: stack.bootstrapServers,
          group,
          topic,
          extra: { offsetResetPolicy: "earliest" },
        }),
      ],
    }),
  );
  const jobs = trackJobs(rest, ns.name, "crash");
  t.after(() => jobs.stop());

  const t0 = Date.now();
  await sendRoundRobin(
    k,
    topic,
    PARTITIONS,
    Array.from({ length: MESSAGES }, (_, i) => `m-${i}`),
  );

  // A random moment: once the current leader has created a random number of Jobs more, plus up to 150 ms
  // (small: the polling overshoots by some dozens of Jobs, and all kills must fall inside the dispatch).
  const kills: { atS: number; jobs: number; killed: string }[] = [];
  for (let i = 0; i < KILLS; i++) {
    const lead = await leader();
    const target = jobs.count() + random(1, 15);
    await waitFor(
      `${target} Jobs before kill ${i + 1}`,
      () => (jobs.count() >= target ? true : undefined),
      120_000,
      50,
    );
    await sleep(random(0, 150));
    const existing = (await listJobs(rest, ns.name, "crash")).length;
    kills.push({ atS: (Date.now() - t0) / 1000, jobs: existing, killed: lead.name });
    await lead.stop("SIGKILL");
    const again = await start();
    all.push(again);
    procs[procs.indexOf(lead)] = again;
  }

  const final = await waitFor(
    `${MESSAGES} Jobs and every offset committed`,
    async () => {
      const list = await listJobs(rest, ns.name, "crash");
      const c = await committed(k, group, topic);
      return list.length >= MESSAGES && c.every((o) => o === MESSAGES / PARTITIONS) ? { list, c } : undefined;
    },
    300_000,
    500,
  );
  await sleep(2_000); // a late duplicate would show now
  const after = await listJobs(rest, ns.name, "crash");
  await jobs.stop();

  // Creates as the processes logged them (a process killed between the create and its log line logs none).
  const creates = new Map<string, number>();
  for (const p of all) {
    for (const l of p.logs) {
      if (l.msg === "Job created") creates.set(String(l.job), (creates.get(String(l.job)) ?? 0) + 1);
    }
  }
  const metAgain = all.reduce(
    (n, p) => n + p.logs.filter((l) => l.msg === "Job exists already: not created again").length,
    0,
  );
  for (const [i, kill] of kills.entries()) {
    console.log(
      `kill ${i + 1}: ${kill.atS.toFixed(1)} s after the first message, ${kill.jobs} Jobs existed (${kill.killed})`,
    );
  }
  console.log(
    `final: ${after.length} Jobs, ${new Set(after.map((j) => j.metadata.name)).size} distinct, ` +
      `committed ${final.c.join(",")}, ${[...creates.values()].reduce((a, b) => a + b, 0)} creates logged, ` +
      `${metAgain} messages read again met their Job, ${jobs.recreated.size} Jobs recreated, ` +
      `${((Date.now() - t0) / 1000).toFixed(1)} s in all`,
  );

  assert.equal(kills.length, KILLS);
  assert.ok(
    kills.every((x) => x.jobs < MESSAGES),
    `every kill fell inside the dispatch: ${kills.map((x) => x.jobs).join(",")}`,
  );
  const expected = new Set<string>();
  for (let i = 0; i < MESSAGES; i++) expected.add(`crash-${i % PARTITIONS}-${Math.floor(i / PARTITIONS)}`);
  const names = after.map((j) => j.metadata.name);
  assert.equal(names.length, MESSAGES, "exactly one Job per message");
  assert.deepEqual(new Set(names), expected, "one Job per (partition, offset), none missing");
  for (const j of after) {
    const env = Object.fromEntries(
      (j.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
    );
    const p = Number(env.LAGSCALE_MESSAGE_PARTITION);
    const o = Number(env.LAGSCALE_MESSAGE_OFFSET);
    assert.equal(j.metadata.name, `crash-${p}-${o}`);
    assert.equal(env.LAGSCALE_MESSAGE_VALUE, `m-${o * PARTITIONS + p}`, j.metadata.name);
  }
  assert.deepEqual([...jobs.recreated], [], "no Job was deleted and created again");
  const twice = [...creates].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], "no message's Job was created twice");
  assert.deepEqual(
    final.c,
    Array.from({ length: PARTITIONS }, () => MESSAGES / PARTITIONS),
    "all committed",
  );
});
