/**
 * SASL/SCRAM through a TriggerAuthentication and a Secret, on the stack broker's SCRAM listener: the
 * trigger names the listener and `sasl: scram_sha512`; the TriggerAuthentication maps `username` and
 * `password` from a Secret. The lag is read (status.currentLag, the Authentications column) and the target
 * scales on it. A second ScaledObject whose Secret holds a wrong password fails its reads with Kafka's
 * answer in a KEDAScalerFailed event, and keeps its replicas.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  condition,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  deploymentReplicas,
  eventsFor,
  getScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubectl,
  kubeRest,
  produce,
  scaledObject,
  sleeperDeployment,
  startController,
  waitForReplicas,
  withAdmin,
  commitAtEnd,
} from "../support/controller.js";
import { loadStack } from "../support/stack.js";
import { podRunnerMissing } from "../support/kube.js";
import { waitFor } from "../support/wait.js";

test("SASL/SCRAM via a TriggerAuthentication and a Secret", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const sasl = stack.kafka.sasl;
  const user = sasl?.users.find((u) => u.mechanism === "scram-sha-512");
  if (!sasl || !user) return t.skip("the stack's broker has no SCRAM listener");
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-scram");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const topic = `scram-${ns.name}`;
  const group = `g-scram-${ns.name}`;
  await withAdmin(k, async (admin) => {
    await createTestTopic(admin, topic, 5);
    await commitAtEnd(admin, group, topic);
  });
  await produce(k, topic, 25); // lag 25: 3 replicas at lagThreshold 10

  const secret = (name: string, password: string) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns.name },
    stringData: { username: user.username, password },
  });
  await rest.post(`/api/v1/namespaces/${ns.name}/secrets`, secret("kafka-credentials", user.password));
  await rest.post(`/api/v1/namespaces/${ns.name}/secrets`, secret("wrong-credentials", "not-the-password"));
  for (const [name, secretName] of [
    ["kafka-auth", "kafka-credentials"],
    ["wrong-auth", "wrong-credentials"],
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
  await createDeployment(rest, sleeperDeployment(ns.name, "scram", 1));
  await createDeployment(rest, sleeperDeployment(ns.name, "wrong", 2));
  const controller = await startController({ stack, name: `scram-${ns.name}`, watchNamespaces: [ns.name] });
  t.after(async () => {
    await controller.stop();
  });
  for (const [name, auth] of [
    ["scram", "kafka-auth"],
    ["wrong", "wrong-auth"],
  ] as const) {
    await createScaledObject(
      rest,
      scaledObject({
        namespace: ns.name,
        name,
        target: name,
        spec: { pollingInterval: 2, minReplicaCount: 1, maxReplicaCount: 5 },
        triggers: [
          kafkaTrigger({
            brokers: sasl.bootstrapServers,
            group,
            topic,
            extra: { sasl: "scram_sha512" },
            authRef: auth,
          }),
        ],
      }),
    );
  }

  await waitForReplicas(rest, ns.name, "scram", 3, 30_000);
  // the status is written just after the /scale write
  const so = await waitFor(
    "status.currentLag",
    async () => {
      const x = await getScaledObject(rest, ns.name, "scram");
      return x?.status?.currentReplicas === 3 ? x : undefined;
    },
    60_000,
  );
  assert.equal(so.status?.currentLag, 25);
  assert.equal(condition(so, "Ready"), "True");
  const table = await kubectl(stack, ["get", "scaledobjects", "-n", ns.name, "scram"]);
  assert.match(
    table,
    /scram\s+apps\/v1\.Deployment\s+scram\s+1\s+5\s+True\s+True\s+False\s+False\s+kafka\s+kafka-auth\s+25\s+3/,
  );

  const failed = await waitFor(
    "the wrong password to fail the reads",
    async () => {
      const events = await eventsFor(rest, ns.name, "ScaledObject", "wrong");
      return events.find((e) => e.reason === "KEDAScalerFailed");
    },
    60_000,
  );
  assert.match(failed.message, /SASL|[Aa]uthentication/);
  const wrong = await getScaledObject(rest, ns.name, "wrong");
  assert.equal(wrong?.status?.conditions?.find((c) => c.type === "Ready")?.reason, "TriggerError");
  assert.equal(
    (await deploymentReplicas(rest, ns.name, "wrong")).spec,
    2,
    "a failing trigger changes nothing",
  );
});
