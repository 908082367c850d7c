/**
 * Trigger inputs resolved from the stack's real API server: a Deployment whose container reads its
 * environment from values, a Secret, a ConfigMap and envFrom; a TriggerAuthentication and a
 * ClusterTriggerAuthentication pointing at Secrets holding the stack's Kafka SCRAM user. The resolved
 * parameters go through core/triggers' parser, and the SASL settings it gives must log in to the real
 * broker's SCRAM listener.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { Kafka, logLevel } from "kafkajs";
import { ApiAuthSources, resolveScaledObjectInputs } from "../../controller/auth/index.js";
import type { ScaledObject } from "../../core/crd/index.js";
import { parseKafkaTrigger } from "../../core/triggers/index.js";
import { installCrds } from "../support/controller.js";
import { stackKubeConfig } from "../support/kube.js";
import { loadStack } from "../support/stack.js";

const stack = loadStack();
const kc = stackKubeConfig(stack);
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

const stamp = Date.now().toString(36);
const ns = `auth-${stamp}`;
/** Stands in for lagscale's own namespace, where ClusterTriggerAuthentications read Secrets. */
const operatorNs = `auth-op-${stamp}`;
const cta = `auth-test-${stamp}`;
const sasl = stack.kafka.sasl;
const scram = sasl?.users.find((u) => u.mechanism === "scram-sha-512");
const skip = scram ? false : `the stack's Kafka (${stack.kafka.kind}) has no SCRAM-SHA-512 user`;

function scaledObject(
  triggers: ScaledObject["spec"]["triggers"],
  target: Partial<ScaledObject["spec"]["scaleTargetRef"]> = {},
): Pick<ScaledObject, "metadata" | "spec"> {
  return {
    metadata: { name: "consumer", namespace: ns },
    spec: { scaleTargetRef: { name: "consumer", ...target }, triggers },
  };
}

describe("TriggerAuthentication resolution against the real API server", { skip }, () => {
  const sources = new ApiAuthSources(kc);

  before(async () => {
    await installCrds(stack);
    for (const name of [ns, operatorNs]) await core.createNamespace({ body: { metadata: { name } } });
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "kafka-user" },
        stringData: { username: scram!.username, password: scram!.password, sasl: "scram_sha512" },
      },
    });
    await core.createNamespacedSecret({
      namespace: operatorNs,
      body: {
        metadata: { name: "kafka-admin" },
        stringData: { user: scram!.username, pass: scram!.password },
      },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "kafka" }, data: { brokers: sasl!.bootstrapServers.join(","), group: "g1" } },
    });
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "consumer" },
        spec: {
          replicas: 0, // nothing runs: only its pod template is read
          selector: { matchLabels: { app: "consumer" } },
          template: {
            metadata: { labels: { app: "consumer" } },
            spec: {
              containers: [
                {
                  name: "main",
                  image: "lagscale/none",
                  envFrom: [{ configMapRef: { name: "kafka" }, prefix: "KAFKA_" }],
                  env: [
                    { name: "BROKERS", value: "$(KAFKA_brokers)" },
                    { name: "GROUP", valueFrom: { configMapKeyRef: { name: "kafka", key: "group" } } },
                    {
                      name: "KAFKA_PASSWORD",
                      valueFrom: { secretKeyRef: { name: "kafka-user", key: "password" } },
                    },
                  ],
                },
              ],
            },
          },
        },
      },
    });
    await custom.createNamespacedCustomObject({
      group: "lagscale.io",
      version: "v1alpha1",
      namespace: ns,
      plural: "triggerauthentications",
      body: {
        apiVersion: "lagscale.io/v1alpha1",
        kind: "TriggerAuthentication",
        metadata: { name: "kafka-auth" },
        spec: {
          secretTargetRef: [
            { parameter: "sasl", name: "kafka-user", key: "sasl" },
            { parameter: "username", name: "kafka-user", key: "username" },
          ],
          env: [{ parameter: "password", name: "KAFKA_PASSWORD", containerName: "main" }],
        },
      },
    });
    await custom.createClusterCustomObject({
      group: "lagscale.io",
      version: "v1alpha1",
      plural: "clustertriggerauthentications",
      body: {
        apiVersion: "lagscale.io/v1alpha1",
        kind: "ClusterTriggerAuthentication",
        metadata: { name: cta },
        spec: {
          secretTargetRef: [
            { parameter: "username", name: "kafka-admin", key: "user" },
            { parameter: "password", name: "kafka-admin", key: "pass" },
          ],
        },
      },
    });
  });

  after(async () => {
    await custom
      .deleteClusterCustomObject({
        group: "lagscale.io",
        version: "v1alpha1",
        plural: "clustertriggerauthentications",
        name: cta,
      })
      .catch(() => undefined);
    for (const name of [ns, operatorNs]) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  it("resolves <name>FromEnv and a TriggerAuthentication; the parsed SASL settings log in to the broker", async () => {
    const res = await resolveScaledObjectInputs(
      sources,
      scaledObject([
        {
          type: "kafka",
          metadata: { bootstrapServersFromEnv: "BROKERS", consumerGroupFromEnv: "GROUP", topic: "t" },
          authenticationRef: { name: "kafka-auth" },
        },
      ]),
    );
    const r = res.triggers[0]!;
    assert.ok(r.ok, r.ok ? "" : r.errors.join(" | "));
    assert.deepEqual(r.input.authParams, {
      password: scram!.password,
      sasl: "scram_sha512",
      username: scram!.username,
    });
    assert.equal(r.input.resolvedEnv["BROKERS"], sasl!.bootstrapServers.join(","));
    assert.deepEqual(res.dependencies, {
      secrets: [`${ns}/kafka-user`],
      configMaps: [`${ns}/kafka`],
      triggerAuthentications: [`${ns}/kafka-auth`],
      clusterTriggerAuthentications: [],
    });

    const parsed = parseKafkaTrigger(r.input);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const meta = parsed.value;
    assert.deepEqual(meta.bootstrapServers, sasl!.bootstrapServers);
    assert.equal(meta.consumerGroup, "g1");
    assert.equal(meta.sasl.mechanism, "scram_sha512");
    assert.ok(meta.sasl.mechanism === "scram_sha512");
    const admin = new Kafka({
      clientId: "lagscale-auth-test",
      brokers: meta.bootstrapServers,
      sasl: { mechanism: "scram-sha-512", username: meta.sasl.username, password: meta.sasl.password },
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.ok(cluster.brokers.length >= 1);
    } finally {
      await admin.disconnect();
    }
  });

  it("a ClusterTriggerAuthentication reads its Secrets from the cluster object namespace", async () => {
    const so = scaledObject([
      {
        type: "kafka",
        metadata: { bootstrapServers: "b:9092", consumerGroup: "g" },
        authenticationRef: { name: cta, kind: "ClusterTriggerAuthentication" },
      },
    ]);
    const res = await resolveScaledObjectInputs(sources, so, { clusterObjectNamespace: operatorNs });
    const r = res.triggers[0]!;
    assert.ok(r.ok, r.ok ? "" : r.errors.join(" | "));
    assert.deepEqual(r.input.authParams, { username: scram!.username, password: scram!.password });
    assert.deepEqual(res.dependencies.secrets, [`${operatorNs}/kafka-admin`]);
    // In the ScaledObject's namespace there is no such Secret: the error names where it looked.
    const wrong = await resolveScaledObjectInputs(sources, so, { clusterObjectNamespace: ns });
    const w = wrong.triggers[0]!;
    assert.ok(!w.ok);
    assert.match(w.errors[0]!, new RegExp(`Secret "kafka-admin" not found in namespace "${ns}"`));
  });

  it("names what is missing: the TriggerAuthentication, a Secret key, the target, an unserved kind", async () => {
    const res = await resolveScaledObjectInputs(
      sources,
      scaledObject([
        { type: "kafka", metadata: {}, authenticationRef: { name: "nope" } },
        { type: "kafka", metadata: { topicFromEnv: "NOT_SET" } },
      ]),
    );
    assert.deepEqual(
      res.triggers.map((t) => (t.ok ? "ok" : t.errors.join(" | "))),
      [
        `spec.triggers[0].authenticationRef: TriggerAuthentication "nope" not found in namespace "${ns}"`,
        "ok",
      ],
    );
    const gone = await resolveScaledObjectInputs(
      sources,
      scaledObject([{ type: "kafka", metadata: { topicFromEnv: "T" } }], { name: "absent" }),
    );
    assert.deepEqual(gone.triggers[0], {
      index: 0,
      ok: false,
      errors: [
        "spec.triggers[0].metadata (<name>FromEnv): Deployment " + `${ns}/absent (scaleTargetRef) not found`,
      ],
    });
    const unserved = await resolveScaledObjectInputs(
      sources,
      scaledObject([{ type: "kafka", metadata: { topicFromEnv: "T" } }], {
        apiVersion: "example.com/v1",
        kind: "Widget",
      }),
    );
    assert.ok(!unserved.triggers[0]!.ok);
    assert.match(
      unserved.triggers[0]!.errors[0]!,
      /the API server serves no kind "Widget" in "example\.com\/v1"/,
    );

    await core.patchNamespacedSecret({
      namespace: ns,
      name: "kafka-user",
      body: [{ op: "remove", path: "/data/username" }],
    });
    const noKey = await resolveScaledObjectInputs(
      sources,
      scaledObject([{ type: "kafka", metadata: {}, authenticationRef: { name: "kafka-auth" } }]),
    );
    assert.ok(!noKey.triggers[0]!.ok);
    assert.deepEqual(noKey.triggers[0]!.errors, [
      `spec.triggers[0].authenticationRef: TriggerAuthentication ${ns}/kafka-auth spec.secretTargetRef[1] (parameter "username"): Secret ${ns}/kafka-user has no key "username"`,
    ]);
  });
});
