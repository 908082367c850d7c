/**
 * Per-message dispatch (`spec.dispatch.mode: perMessage`) on the local stack: real Kafka, the real API server
 * and Job controller, Jobs run by the pod runner (shell commands of `lagscale.local/host`), the controller as
 * a child process. 200 messages give exactly 200 Jobs, one per (partition, offset), each with its message in
 * the environment, never more than maxReplicaCount running, every offset committed at the end; a failing
 * message's Job follows backoffLimit and failedJobsHistoryLimit; an invalid Job template leaves the offsets
 * uncommitted and says why in status, Events and metrics, and the messages go out once it is fixed. The
 * dispatcher's consumer connects through the broker's mTLS and SASL_SSL (SCRAM) listeners with the credentials
 * of a TriggerAuthentication and its Secret, as the lag reader does.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sleep } from "../stack/process.js";
import {
  createNamespace,
  createTestTopic,
  eventsFor,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  startController,
  withAdmin,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import {
  committed,
  createDispatchScaledJob,
  finishedAs,
  listJobs,
  metricValue,
  scaledJob,
  sendRoundRobin,
  sjPath,
  type JobView,
} from "./scaledjob-support.js";

const envOf = (j: JobView) =>
  Object.fromEntries((j.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));

test("ScaledJob per-message dispatch", { concurrency: true }, async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "sj-dispatch");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const controller = await startController({
    stack,
    name: `sj-dispatch-${ns.name}`,
    watchNamespaces: [ns.name],
  });
  t.after(async () => {
    await controller.stop();
  });

  const setup = async (name: string, partitions: number) => {
    const topic = `${name}-${ns.name}`;
    const group = `g-${name}-${ns.name}`;
    await withAdmin(k, (admin) => createTestTopic(admin, topic, partitions));
    const trigger = kafkaTrigger({
      brokers: stack.bootstrapServers,
      group,
      topic,
      extra: { offsetResetPolicy: "earliest" },
    });
    return { topic, group, trigger };
  };

  await t.test("200 messages: 200 Jobs, one per offset, right payloads, at most 5 running", async () => {
    const { topic, group, trigger } = await setup("two-hundred", 4);
    const values = Array.from({ length: 200 }, (_, i) => `payload-${i}`);
    await sendRoundRobin(k, topic, 4, values);
    await createDispatchScaledJob(
      stack,
      rest,
      scaledJob({
        namespace: ns.name,
        name: "two-hundred",
        script: "sleep 1",
        spec: { maxReplicaCount: 5, successfulJobsHistoryLimit: 1000, dispatch: { mode: "perMessage" } },
        triggers: [trigger],
      }),
    );
    let maxRunning = 0;
    let samples = 0;
    const jobs = await waitFor(
      "200 Jobs of ScaledJob two-hundred, all finished",
      async () => {
        const list = await listJobs(rest, ns.name, "two-hundred");
        const running = list.filter((j) => finishedAs(j) === undefined).length;
        maxRunning = Math.max(maxRunning, running);
        samples++;
        return list.length >= 200 && running === 0 ? list : undefined;
      },
      300_000,
      300,
    );
    console.log(`two-hundred: ${jobs.length} Jobs, at most ${maxRunning} running in ${samples} samples`);
    assert.equal(jobs.length, 200);
    assert.ok(maxRunning <= 5, `at most maxReplicaCount (5) Jobs running at once, saw ${maxRunning}`);
    assert.ok(maxRunning >= 2, `the Jobs ran side by side (saw ${maxRunning})`);
    const seen = new Set<string>();
    for (const j of jobs) {
      const env = envOf(j);
      const p = Number(env.LAGSCALE_MESSAGE_PARTITION);
      const o = Number(env.LAGSCALE_MESSAGE_OFFSET);
      const i = o * 4 + p;
      seen.add(`${p}/${o}`);
      assert.equal(j.metadata.name, `two-hundred-${p}-${o}`);
      assert.equal(env.LAGSCALE_MESSAGE_TOPIC, topic);
      assert.equal(env.LAGSCALE_MESSAGE_VALUE, values[i], j.metadata.name);
      assert.equal(env.LAGSCALE_MESSAGE_KEY, `key-${i}`);
      assert.deepEqual(JSON.parse(env.LAGSCALE_MESSAGE_HEADERS ?? "{}"), { n: String(i) });
      assert.ok(Number(env.LAGSCALE_MESSAGE_TIMESTAMP) > 1.7e12);
      assert.equal(finishedAs(j), "Complete", j.metadata.name);
    }
    assert.equal(seen.size, 200, "distinct (partition, offset)");
    assert.deepEqual(await committed(k, group, topic), [50, 50, 50, 50]);
    assert.equal(
      metricValue(await controller.metrics(), "lagscale_scaled_job_jobs_created_total", "two-hundred"),
      200,
    );
  });

  await t.test(
    "a failing message: backoffLimit 1 gives two pods, failedJobsHistoryLimit 1 keeps one",
    async () => {
      const { topic, trigger } = await setup("failing", 1);
      await sendRoundRobin(k, topic, 1, ["ok", "fail", "ok", "fail"]);
      await rest.post(
        sjPath(ns.name),
        scaledJob({
          namespace: ns.name,
          name: "failing",
          script: 'test "$LAGSCALE_MESSAGE_VALUE" != fail',
          jobSpec: { backoffLimit: 1 },
          spec: { failedJobsHistoryLimit: 1, dispatch: { mode: "perMessage" } },
          triggers: [trigger],
        }),
      );
      const left = await waitFor(
        "2 Complete and 1 Failed Job of ScaledJob failing",
        async () => {
          const list = await listJobs(rest, ns.name, "failing");
          const failed = list.filter((j) => finishedAs(j) === "Failed");
          const complete = list.filter((j) => finishedAs(j) === "Complete");
          return complete.length === 2 && failed.length === 1 && list.length === 3 ? list : undefined;
        },
        120_000,
        500,
      );
      const failed = left.find((j) => finishedAs(j) === "Failed");
      assert.equal(failed?.status?.failed, 2, "backoffLimit 1: the first pod and one retry");
      assert.equal(
        failed?.metadata.name,
        "failing-0-3",
        "the older failed Job (offset 1) is the one deleted",
      );
      assert.deepEqual(
        left
          .filter((j) => finishedAs(j) === "Complete")
          .map((j) => j.metadata.name)
          .sort(),
        ["failing-0-0", "failing-0-2"],
      );
    },
  );

  await t.test(
    "through the mTLS and SASL_SSL listeners, with a TriggerAuthentication's Secret",
    async (st) => {
      const secured = stack.kafka.secured;
      if (!secured) {
        return st.skip(`the stack's Kafka (${stack.kafka.kind}) has no secured listeners (local kind only)`);
      }
      const scram = stack.kafka.sasl?.users.find((u) => u.mechanism === "scram-sha-256");
      assert.ok(scram, "the broker has a SCRAM-SHA-256 user");
      const ca = readFileSync(secured.pki.ca, "utf8");
      const cases: {
        name: string;
        brokers: string[];
        metadata: Record<string, string>;
        secret: Record<string, string>;
      }[] = [
        {
          name: "mtls",
          brokers: secured.mtls,
          metadata: { tls: "enable" },
          secret: {
            ca,
            cert: readFileSync(secured.pki.clientCert, "utf8"),
            key: readFileSync(secured.pki.clientKey, "utf8"),
          },
        },
        {
          name: "scram",
          brokers: secured.saslSsl,
          metadata: { tls: "enable", sasl: "scram_sha256" },
          secret: { ca, username: scram.username, password: scram.password },
        },
      ];
      await Promise.all(
        cases.map(async (c) => {
          const { topic, group } = await setup(`secured-${c.name}`, 2);
          await rest.post(`/api/v1/namespaces/${ns.name}/secrets`, {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: c.name, namespace: ns.name },
            stringData: c.secret,
          });
          await rest.post(`/apis/lagscale.io/v1alpha1/namespaces/${ns.name}/triggerauthentications`, {
            apiVersion: "lagscale.io/v1alpha1",
            kind: "TriggerAuthentication",
            metadata: { name: c.name, namespace: ns.name },
            spec: {
              secretTargetRef: Object.keys(c.secret).map((key) => ({ parameter: key, name: c.name, key })),
            },
          });
          await sendRoundRobin(k, topic, 2, ["s-0", "s-1", "s-2", "s-3"]);
          const name = `secured-${c.name}`;
          await createDispatchScaledJob(
            stack,
            rest,
            scaledJob({
              namespace: ns.name,
              name,
              script: "exit 0",
              spec: { dispatch: { mode: "perMessage" } },
              triggers: [
                kafkaTrigger({
                  brokers: c.brokers,
                  group,
                  topic,
                  authRef: c.name,
                  extra: { offsetResetPolicy: "earliest", ...c.metadata },
                }),
              ],
            }),
          );
          await waitFor(
            `the 4 offsets of ScaledJob ${name} committed`,
            async () => ((await committed(k, group, topic)).join() === "2,2" ? true : undefined),
            120_000,
            500,
          );
          const jobs = await listJobs(rest, ns.name, name);
          assert.deepEqual(jobs.map((j) => `${j.metadata.name}=${envOf(j).LAGSCALE_MESSAGE_VALUE}`).sort(), [
            `${name}-0-0=s-0`,
            `${name}-0-1=s-2`,
            `${name}-1-0=s-1`,
            `${name}-1-1=s-3`,
          ]);
        }),
      );
    },
  );

  await t.test("an invalid Job template: offsets stay uncommitted, status and Events say why", async () => {
    const { topic, group, trigger } = await setup("invalid", 1);
    await sendRoundRobin(k, topic, 1, ["a", "b", "c"]);
    const sj = scaledJob({
      namespace: ns.name,
      name: "invalid",
      script: "exit 0",
      spec: { dispatch: { mode: "perMessage" } },
      triggers: [trigger],
    });
    // A container without an image: the API server refuses the Job (422 Invalid).
    const spec = sj.spec as {
      jobTargetRef: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    delete spec.jobTargetRef.template.spec.containers[0]?.image;
    await createDispatchScaledJob(stack, rest, sj);
    const ready = await waitFor(
      "Ready=False JobCreateFailed on ScaledJob invalid",
      async () => {
        const s = await rest.get<{
          status?: { conditions?: { type: string; reason?: string; message?: string }[] };
        }>(sjPath(ns.name, "invalid"));
        const c = s.status?.conditions?.find((x) => x.type === "Ready");
        return c?.reason === "JobCreateFailed" ? c : undefined;
      },
      60_000,
    );
    assert.match(ready.message ?? "", /invalid-0-0 .* offset 0 could not be created .*image/);
    await sleep(3_000);
    assert.deepEqual(
      await committed(k, group, topic),
      [-1],
      "nothing committed while the Job cannot be created",
    );
    assert.equal((await listJobs(rest, ns.name, "invalid")).length, 0);
    const events = await eventsFor(rest, ns.name, "ScaledJob", "invalid");
    assert.ok(events.some((e) => e.reason === "JobCreateFailed" && e.type === "Warning"));
    assert.ok(
      metricValue(await controller.metrics(), "lagscale_scaled_job_job_create_failures_total", "invalid") >=
        1,
    );

    // Fixed: the same messages go out, none skipped.
    await rest.patch(
      sjPath(ns.name, "invalid"),
      [
        {
          op: "add",
          path: "/spec/jobTargetRef/template/spec/containers/0/image",
          value: "lagscale.local/host",
        },
      ],
      "json",
    );
    await waitFor(
      "offsets of ScaledJob invalid committed after the fix",
      async () => ((await committed(k, group, topic))[0] === 3 ? true : undefined),
      120_000,
      500,
    );
    const names = (await listJobs(rest, ns.name, "invalid")).map((j) => j.metadata.name).sort();
    assert.deepEqual(names, ["invalid-0-0", "invalid-0-1", "invalid-0-2"]);
  });
});
