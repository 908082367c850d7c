/**
 * ScaledJob in count mode (KEDA's) on the local stack: real Kafka, the real API server and Job controller,
 * Jobs run by the pod runner, the controller as a child process. Lag 25 at lagThreshold 10 gives 3 Jobs, and
 * polls while they run create no more (running Jobs deducted); a change of the Job template deletes the
 * running Jobs of the previous generation and starts new ones (immediate rollout); finished Jobs past
 * successfulJobsHistoryLimit are deleted; the paused annotation stops the poll and shows in status.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sleep } from "../stack/process.js";
import {
  commitAtEnd,
  createNamespace,
  createTestTopic,
  eventsFor,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  produce,
  startController,
  withAdmin,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import { GENERATION_ANNOTATION } from "../../core/scaledjob/job-object.js";
import { finishedAs, listJobs, metricValue, scaledJob, sjPath } from "./scaledjob-support.js";

test("ScaledJob count mode: 3 Jobs for lag 25, running deducted, rollout, history limit, pause", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "sj-count");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const controller = await startController({
    stack,
    name: `sj-count-${ns.name}`,
    watchNamespaces: [ns.name],
  });
  t.after(async () => {
    await controller.stop();
  });

  /**
   * A topic of 3 partitions with 25 messages nobody committed; offsetResetPolicy earliest makes that lag 25
   * (3 partitions: KEDA caps the lag at partitions × lagThreshold unless allowIdleConsumers).
   */
  const lag25 = async (name: string) => {
    const topic = `${name}-${ns.name}`;
    const group = `g-${name}-${ns.name}`;
    await withAdmin(k, (admin) => createTestTopic(admin, topic, 3));
    await produce(k, topic, 25);
    const trigger = kafkaTrigger({
      brokers: stack.bootstrapServers,
      group,
      topic,
      lagThreshold: 10,
      extra: { offsetResetPolicy: "earliest" },
    });
    return { topic, group, trigger };
  };

  await t.test("lag 25, threshold 10: 3 Jobs; later polls deduct them; rollout replaces them", async () => {
    const { trigger } = await lag25("long");
    await rest.post(
      sjPath(ns.name),
      scaledJob({ namespace: ns.name, name: "long", script: "sleep 600", triggers: [trigger] }),
    );
    const first = await waitFor(
      "3 Jobs of ScaledJob long",
      async () => {
        const jobs = await listJobs(rest, ns.name, "long");
        return jobs.length >= 3 ? jobs : undefined;
      },
      60_000,
    );
    // Four more polls (pollingInterval 2): the 3 running Jobs cover the lag, so none is added.
    await sleep(8_000);
    const jobs = await listJobs(rest, ns.name, "long");
    assert.equal(jobs.length, 3, jobs.map((j) => j.metadata.name).join(", "));
    assert.deepEqual(new Set(jobs.map((j) => j.metadata.name)), new Set(first.map((j) => j.metadata.name)));
    for (const j of jobs) {
      assert.match(j.metadata.name, /^long-[a-z0-9]{5}$/);
      assert.equal(j.metadata.labels?.["scaledjob.keda.sh/name"], "long");
      assert.equal(j.metadata.labels?.["app.kubernetes.io/managed-by"], "lagscale");
      assert.equal(j.metadata.annotations?.[GENERATION_ANNOTATION], "1");
    }
    const sj = await rest.get<{
      status?: { conditions?: { type: string; status: string; reason: string }[] };
    }>(sjPath(ns.name, "long"));
    const cond = (type: string) => sj.status?.conditions?.find((c) => c.type === type);
    assert.equal(cond("Ready")?.reason, "ScaledJobReady");
    assert.equal(cond("Active")?.status, "True");
    const events = await eventsFor(rest, ns.name, "ScaledJob", "long");
    assert.ok(
      events.some((e) => e.reason === "KEDAJobsCreated" && e.message === "Created 3 jobs"),
      JSON.stringify(events.map((e) => [e.reason, e.message])),
    );
    assert.equal(
      metricValue(await controller.metrics(), "lagscale_scaled_job_jobs_created_total", "long"),
      3,
    );

    // A template change is a new generation: the running Jobs of generation 1 go, 3 of generation 2 come.
    await rest.patch(sjPath(ns.name, "long"), {
      spec: { jobTargetRef: { activeDeadlineSeconds: 3600 } },
    });
    const rolled = await waitFor(
      "the Jobs of generation 2 to replace those of generation 1",
      async () => {
        const now = await listJobs(rest, ns.name, "long");
        const gens = now.map((j) => j.metadata.annotations?.[GENERATION_ANNOTATION]);
        return now.length === 3 && gens.every((g) => g === "2") ? now : undefined;
      },
      60_000,
    );
    for (const j of rolled) assert.ok(!first.some((f) => f.metadata.name === j.metadata.name));
    const after = await eventsFor(rest, ns.name, "ScaledJob", "long");
    assert.ok(
      after.some((e) => e.reason === "ScaledJobRolloutCleanupCompleted"),
      JSON.stringify(after.map((e) => [e.reason, e.message])),
    );

    // paused: the poll stops and status says so.
    await rest.patch(sjPath(ns.name, "long"), {
      metadata: { annotations: { "autoscaling.keda.sh/paused": "true" } },
    });
    await waitFor(
      "Paused=True on ScaledJob long",
      async () => {
        const s = await rest.get<{
          status?: { Paused?: string; conditions?: { type: string; status: string }[] };
        }>(sjPath(ns.name, "long"));
        return s.status?.Paused === "true" &&
          s.status.conditions?.some((c) => c.type === "Paused" && c.status === "True")
          ? true
          : undefined;
      },
      30_000,
    );
  });

  await t.test("successfulJobsHistoryLimit 1: finished Jobs beyond one are deleted", async () => {
    const { topic, group, trigger } = await lag25("hist");
    await rest.post(
      sjPath(ns.name),
      scaledJob({
        namespace: ns.name,
        name: "hist",
        script: "exit 0",
        spec: { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 },
        triggers: [trigger],
      }),
    );
    // Jobs end at once, so each poll finds fewer running and creates more: at least 5 in all.
    await waitFor(
      "5 Jobs created for ScaledJob hist",
      async () =>
        metricValue(await controller.metrics(), "lagscale_scaled_job_jobs_created_total", "hist") >= 5
          ? true
          : undefined,
      90_000,
    );
    // No more lag: no new Jobs; the next polls trim the finished ones to the limit.
    await withAdmin(k, (admin) => commitAtEnd(admin, group, topic));
    const left = await waitFor(
      "one finished Job of ScaledJob hist",
      async () => {
        const jobs = await listJobs(rest, ns.name, "hist");
        return jobs.length === 1 && jobs.every((j) => finishedAs(j) === "Complete") ? jobs : undefined;
      },
      90_000,
    );
    assert.equal(left.length, 1);
    assert.ok(metricValue(await controller.metrics(), "lagscale_scaled_job_jobs_deleted_total", "hist") >= 4);
  });
});
