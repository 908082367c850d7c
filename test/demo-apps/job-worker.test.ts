/**
 * The job worker's example end to end on the local stack: demo-apps/job-worker/manifests/scaledjob.yaml (its
 * broker, topic and group pointed at the stack's), the controller as a child process, real Kafka, the real API
 * server and Job controller, the worker run by the pod runner. Four messages give four Jobs: three Complete,
 * the one with the header `demo-fail: true` Failed after backoffLimit 1 (two pods); the value above
 * maxInlineValueBytes is fetched by its coordinates (the worker's log shows it); every offset is committed.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import {
  createNamespace,
  createTestTopic,
  installCrds,
  kafka,
  kubeRest,
  startController,
  withAdmin,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import { repoRoot } from "../stack/paths.js";
import { committed, createDispatchScaledJob, finishedAs, listJobs } from "../controller/scaledjob-support.js";

interface Example {
  metadata: { name: string; namespace: string };
  spec: {
    dispatch: { maxInlineValueBytes: number };
    jobTargetRef: {
      template: {
        spec: {
          containers: { image: string; args?: string[]; env: { name: string; value: string }[] }[];
        };
      };
    };
    triggers: { metadata: Record<string, string> }[];
  };
}

test("the job worker's example ScaledJob: 4 messages, 3 Jobs Complete, the marked one Failed", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "job-worker");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const topic = `jobs-${ns.name}`;
  const group = `job-workers-${ns.name}`;
  await withAdmin(k, (admin) => createTestTopic(admin, topic, 2));

  const sj = parse(
    readFileSync(path.join(repoRoot, "demo-apps/job-worker/manifests/scaledjob.yaml"), "utf8"),
  ) as Example;
  sj.metadata.namespace = ns.name;
  sj.spec.dispatch.maxInlineValueBytes = 64;
  Object.assign(sj.spec.triggers[0]!.metadata, {
    bootstrapServers: stack.bootstrapServers.join(","),
    topic,
    consumerGroup: group,
  });
  const container = sj.spec.jobTargetRef.template.spec.containers[0]!;
  container.env = [
    { name: "KAFKA_BROKER", value: stack.bootstrapServers.join(",") },
    { name: "WORK_SECONDS", value: "0.5" },
  ];
  // The stack's pod runner serves the checkout that started it, which may not have this worker yet: the pod
  // runs this checkout's worker file through the runner's Node image (what lagscale/demo-job-worker:dev runs).
  container.image = "lagscale.local/node";
  container.args = [path.join(repoRoot, "demo-apps/job-worker/src/main.ts")];

  const big = `big-${"z".repeat(200)}`;
  const producer = k.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: [
      { partition: 0, key: "a", value: "small" },
      { partition: 0, key: "b", value: big },
      { partition: 1, key: "c", value: "fine" },
      { partition: 1, key: "d", value: "doomed", headers: { "demo-fail": "true" } },
    ],
  });
  await producer.disconnect();

  const controller = await startController({
    stack,
    name: `job-worker-${ns.name}`,
    watchNamespaces: [ns.name],
  });
  t.after(async () => {
    await controller.stop();
  });
  await createDispatchScaledJob(stack, rest, sj as unknown as Record<string, unknown>);

  const jobs = await waitFor(
    "4 finished Jobs of the job worker",
    async () => {
      const list = await listJobs(rest, ns.name, sj.metadata.name);
      return list.length === 4 && list.every((j) => finishedAs(j) !== undefined) ? list : undefined;
    },
    180_000,
    500,
  );
  const outcome = Object.fromEntries(jobs.map((j) => [j.metadata.name, finishedAs(j)]));
  assert.deepEqual(outcome, {
    "job-worker-0-0": "Complete",
    "job-worker-0-1": "Complete",
    "job-worker-1-0": "Complete",
    "job-worker-1-1": "Failed",
  });
  const failed = jobs.find((j) => j.metadata.name === "job-worker-1-1");
  assert.equal(failed?.status?.failed, 2, "backoffLimit 1: the first pod and one retry");

  // The worker's own log lines, from the pod runner's container logs.
  const podsDir = path.join(stack.dir, "pods", ns.name);
  const lines = (jobName: string) =>
    readdirSync(podsDir)
      .filter((p) => p.startsWith(`${jobName}-`))
      .flatMap((p) => readFileSync(path.join(podsDir, p, "job-worker.log"), "utf8").split("\n"))
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const bigRun = lines("job-worker-0-1");
  assert.ok(
    bigRun.some((l) => l.msg === "value not inlined: fetching the record by its coordinates"),
    "the large value was fetched",
  );
  const working = bigRun.find((l) => l.msg === "working on the message");
  assert.equal(working?.valueSize, big.length);
  assert.equal(working?.valuePreview, big.slice(0, 64));
  assert.ok(lines("job-worker-1-1").some((l) => l.msg === "the message is marked to fail: exiting 1"));
  assert.ok(lines("job-worker-1-0").some((l) => l.msg === "done"));
  assert.deepEqual(await committed(k, group, topic), [2, 2]);
});
