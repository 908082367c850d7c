/**
 * ScaledJobs read their TriggerAuthentications and Secrets from the same watches as ScaledObjects, on the
 * local stack's API server and broker: the controller talks to the API server through a counting proxy
 * (test/support/counting-proxy.ts), so every request it sends is seen. A ScaledJob polling every second reads
 * SASL/SCRAM credentials through a TriggerAuthentication and a Secret (no lag: no Jobs); once it is Ready,
 * ten seconds of polls read neither the TriggerAuthentication nor the Secret from the API server (no get, no
 * list beyond the watches' own), and the Secret is watched.
 *
 * A poll still lists the ScaledJob's Jobs and their pods from the API server (counted, not asserted here).
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startCountingProxy, type SeenRequest } from "../support/counting-proxy.js";
import {
  commitAtEnd,
  createNamespace,
  createTestTopic,
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
import { metricValue, scaledJob, sjPath } from "./scaledjob-support.js";

/** A read (not a watch) of TriggerAuthentications or Secrets. */
const authRead = (r: SeenRequest) =>
  r.verb !== "watch" && /\/(triggerauthentications|clustertriggerauthentications|secrets)(\/|$)/.test(r.path);

test("a ScaledJob's polls read its TriggerAuthentication and Secret from watches, not from the API server", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const sasl = stack.kafka.sasl;
  const user = sasl?.users.find((u) => u.mechanism === "scram-sha-512");
  if (!sasl || !user) return t.skip("the stack's broker has no SCRAM listener");
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "sj-cached");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const topic = `sj-cached-${ns.name}`;
  const group = `g-sj-cached-${ns.name}`;
  await withAdmin(k, async (admin) => {
    await createTestTopic(admin, topic, 3);
    await commitAtEnd(admin, group, topic);
  });
  await rest.post(`/api/v1/namespaces/${ns.name}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "kafka-credentials", namespace: ns.name },
    stringData: { username: user.username, password: user.password },
  });
  await rest.post(`/apis/lagscale.io/v1alpha1/namespaces/${ns.name}/triggerauthentications`, {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "TriggerAuthentication",
    metadata: { name: "kafka-auth", namespace: ns.name },
    spec: {
      secretTargetRef: [
        { parameter: "username", name: "kafka-credentials", key: "username" },
        { parameter: "password", name: "kafka-credentials", key: "password" },
      ],
    },
  });

  const proxy = await startCountingProxy(stack.kubeconfig, mkdtempSync(path.join(tmpdir(), "sj-cached-")));
  t.after(() => proxy.close());
  const controller = await startController({
    stack: { ...stack, kubeconfig: proxy.kubeconfig },
    name: `sj-cached-${ns.name}`,
    watchNamespaces: [ns.name],
  });
  t.after(async () => {
    await controller.stop();
  });

  const sj = scaledJob({
    namespace: ns.name,
    name: "scram-job",
    script: "true",
    spec: { pollingInterval: 1 },
    triggers: [
      kafkaTrigger({
        brokers: sasl.bootstrapServers,
        group,
        topic,
        extra: { sasl: "scram_sha512" },
        authRef: "kafka-auth",
      }),
    ],
  });
  await rest.post(sjPath(ns.name), sj);
  // Ready=True only after a poll whose kafka read, with the Secret's credentials, succeeded
  await waitFor(
    "the ScaledJob Ready, its SCRAM read done",
    async () => {
      const got = await rest.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
        sjPath(ns.name, "scram-job"),
      );
      return got.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        ? true
        : undefined;
    },
    60_000,
  );
  await new Promise((r) => setTimeout(r, 2000));
  const polls = async () =>
    metricValue(await controller.metrics(), "lagscale_scaled_job_evaluations_total", "scram-job");
  const before = { seen: proxy.seen.length, polls: await polls() };
  await new Promise((r) => setTimeout(r, 10_000));
  const window = proxy.seen.slice(before.seen);
  const polled = (await polls()) - before.polls;
  assert.ok(polled >= 5, `a ScaledJob polling every second polled ${polled} times in 10 s`);
  assert.equal(
    metricValue(await controller.metrics(), "lagscale_scaled_job_errors_total", "scram-job"),
    0,
    "every poll read the lag with the Secret's credentials",
  );
  assert.deepEqual(
    window.filter(authRead),
    [],
    `${polled} polls read TriggerAuthentications or Secrets from the API server`,
  );
  // over the whole run: the Secret only through its watch, never by name
  assert.deepEqual(
    proxy.seen.filter((r) => r.verb === "get" && authRead(r)),
    [],
    "no TriggerAuthentication or Secret is read by name",
  );
  assert.ok(
    proxy.seen.some((r) => r.verb === "watch" && r.path === `/api/v1/namespaces/${ns.name}/secrets`),
    "the referenced Secret is watched",
  );
});
