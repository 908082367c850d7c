/**
 * Evaluations fed by watches, on the local stack's API server and broker: the controller talks to the API
 * server through a counting proxy (test/support/counting-proxy.ts), so every request it sends is seen.
 * Three ScaledObjects polling every second (two plain, one reading SASL/SCRAM credentials through a
 * TriggerAuthentication and a Secret), targets at 0 replicas and no lag: once settled, ten seconds of
 * evaluations send the API server no read (get or list) and no write, only the open watches.
 *
 * Then a Secret changes: a fourth ScaledObject whose Secret holds a wrong password fails its reads; the
 * Secret is patched with the right password and the same controller process, without a restart, reads the
 * lag with it and activates its target. The Secret is never read with a GET: only through its watch (a list
 * and a watch of that one Secret).
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { countByVerb, startCountingProxy } from "../support/counting-proxy.js";
import {
  commitAtEnd,
  condition,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  eventsFor,
  getScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  produce,
  scaledObject,
  sleeperDeployment,
  startController,
  waitForReplicas,
  withAdmin,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";

/** Evaluations per ScaledObject from the controller's /metrics. */
function evaluations(metrics: string, ns: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(
    `^lagscale_scaled_object_evaluations_total\\{namespace="${ns}",scaledObject="([^"]+)"\\} (\\d+)$`,
    "gm",
  );
  for (const m of metrics.matchAll(re)) out.set(m[1] ?? "", Number(m[2]));
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

test("a steady controller sends the API server no reads and no writes per evaluation; a changed Secret is used without a restart", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const sasl = stack.kafka.sasl;
  const user = sasl?.users.find((u) => u.mechanism === "scram-sha-512");
  if (!sasl || !user) return t.skip("the stack's broker has no SCRAM listener");
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-cached");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const topic = `cached-${ns.name}`;
  const group = `g-cached-${ns.name}`;
  const rotTopic = `cached-rot-${ns.name}`;
  const rotGroup = `g-cached-rot-${ns.name}`;
  await withAdmin(k, async (admin) => {
    await createTestTopic(admin, topic, 3);
    await commitAtEnd(admin, group, topic);
    await createTestTopic(admin, rotTopic, 3);
    await commitAtEnd(admin, rotGroup, rotTopic);
  });
  await produce(k, rotTopic, 5); // the rotating object's target has work once its reads succeed

  const secret = (name: string, password: string) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns.name },
    stringData: { username: user.username, password },
  });
  await rest.post(`/api/v1/namespaces/${ns.name}/secrets`, secret("kafka-credentials", user.password));
  await rest.post(
    `/api/v1/namespaces/${ns.name}/secrets`,
    secret("rotating-credentials", "not-the-password"),
  );
  for (const [name, secretName] of [
    ["kafka-auth", "kafka-credentials"],
    ["rotating-auth", "rotating-credentials"],
  ] as const) {
    await rest.post(`/apis/lagscale.io/v1alpha1/namespaces/${ns.name}/triggerauthentications`, {
      apiVersion: "lagscale.io/v1alpha1",
      kind: "TriggerAuthentication",
      metadata: { name, namespace: ns.name },
      spec: {
        secretTargetRef: [
          { parameter: "username", name: secretName, key: "username" },
          { parameter: "password", name: secretName, key: "password" },
        ],
      },
    });
  }
  for (const name of ["plain-a", "plain-b", "scram", "rotating"]) {
    await createDeployment(rest, sleeperDeployment(ns.name, name, 0));
  }

  const proxy = await startCountingProxy(stack.kubeconfig, mkdtempSync(path.join(tmpdir(), "so-cached-")));
  t.after(() => proxy.close());
  const controller = await startController({
    stack: { ...stack, kubeconfig: proxy.kubeconfig },
    name: `cached-${ns.name}`,
    watchNamespaces: [ns.name],
  });
  t.after(async () => {
    await controller.stop();
  });

  const steady: { name: string; brokers: string[]; extra: Record<string, string>; auth?: string }[] = [
    { name: "plain-a", brokers: stack.bootstrapServers, extra: {} },
    { name: "plain-b", brokers: stack.bootstrapServers, extra: {} },
    { name: "scram", brokers: sasl.bootstrapServers, extra: { sasl: "scram_sha512" }, auth: "kafka-auth" },
  ];
  for (const s of steady) {
    await createScaledObject(
      rest,
      scaledObject({
        namespace: ns.name,
        name: s.name,
        target: s.name,
        spec: { pollingInterval: 1, minReplicaCount: 0, maxReplicaCount: 3 },
        triggers: [
          kafkaTrigger({
            brokers: s.brokers,
            group,
            topic,
            extra: s.extra,
            ...(s.auth ? { authRef: s.auth } : {}),
          }),
        ],
      }),
    );
  }
  for (const s of steady) {
    await waitFor(
      `${s.name} Ready with lag 0`,
      async () => {
        const so = await getScaledObject(rest, ns.name, s.name);
        return condition(so, "Ready") === "True" && so?.status?.currentLag === 0 ? so : undefined;
      },
      60_000,
    );
  }
  // Settled: the finalizers and the first status writes are behind us.
  await new Promise((r) => setTimeout(r, 3000));
  const before = {
    seen: proxy.seen.length,
    evaluations: sum(evaluations(await controller.metrics(), ns.name)),
  };
  await new Promise((r) => setTimeout(r, 10_000));
  const window = proxy.seen.slice(before.seen);
  const evaluated = sum(evaluations(await controller.metrics(), ns.name)) - before.evaluations;
  assert.ok(evaluated >= 15, `3 objects polling every second were evaluated ${evaluated} times in 10 s`);
  const notWatches = window.filter((r) => r.verb !== "watch");
  assert.deepEqual(
    notWatches,
    [],
    `${evaluated} evaluations sent ${JSON.stringify(countByVerb(window))}: ${JSON.stringify(notWatches.slice(0, 10))}`,
  );

  // A Secret that changes: wrong password first, then the right one, same controller process.
  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "rotating",
      target: "rotating",
      spec: { pollingInterval: 1, minReplicaCount: 0, maxReplicaCount: 3 },
      triggers: [
        kafkaTrigger({
          brokers: sasl.bootstrapServers,
          group: rotGroup,
          topic: rotTopic,
          extra: { sasl: "scram_sha512" },
          authRef: "rotating-auth",
        }),
      ],
    }),
  );
  const failed = await waitFor(
    "the wrong password to fail the reads",
    async () =>
      (await eventsFor(rest, ns.name, "ScaledObject", "rotating")).find(
        (e) => e.reason === "KEDAScalerFailed",
      ),
    60_000,
  );
  assert.match(failed.message, /SASL|[Aa]uthentication/);
  assert.equal((await getScaledObject(rest, ns.name, "rotating"))?.status?.currentReplicas ?? 0, 0);
  await rest.patch(`/api/v1/namespaces/${ns.name}/secrets/rotating-credentials`, {
    stringData: { password: user.password },
  });
  // lag 5 > activationLagThreshold 0: activation to 1 replica, possible only with the new password
  await waitForReplicas(rest, ns.name, "rotating", 1, 60_000);
  // the status is written just after the /scale write
  const so = await waitFor(
    "rotating: status.currentLag",
    async () => {
      const o = await getScaledObject(rest, ns.name, "rotating");
      return o?.status?.currentLag !== undefined ? o : undefined;
    },
    10_000,
  );
  assert.equal(so.status?.currentLag, 5);

  // a watch starts with a list (of the one Secret its field selector names); no Secret is read by name
  const secretReads = proxy.seen.filter((r) => r.path.includes("/secrets") && r.verb === "get");
  assert.deepEqual(secretReads, [], "Secrets are read through their watches only");
  assert.ok(
    proxy.seen.some((r) => r.verb === "watch" && r.path === `/api/v1/namespaces/${ns.name}/secrets`),
    "the referenced Secrets are watched",
  );
});
