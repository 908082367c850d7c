import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import type { AdmissionRequest } from "./admission.js";
import type { HpaSummary, ScaledObjectSummary, WebhookLookups } from "./lookups.js";
import { webhookMetrics } from "./metrics.js";
import {
  checkScaledJob,
  checkScaledObject,
  checkTriggerAuthentication,
  sameTarget,
  verdictOf,
  type Outcome,
} from "./validate.js";

class FakeLookups implements WebhookLookups {
  scaledObjects: ScaledObjectSummary[] = [];
  hpas: HpaSummary[] = [];
  targets = new Set(["Deployment/kafka-consumer"]);
  fail = false;
  calls = 0;
  listScaledObjects() {
    this.calls++;
    return this.fail ? Promise.reject(new Error("etcd is gone")) : Promise.resolve(this.scaledObjects);
  }
  listHorizontalPodAutoscalers() {
    this.calls++;
    return Promise.resolve(this.hpas);
  }
  findTarget(_ns: string, t: { kind: string; name: string }) {
    this.calls++;
    if (t.kind === "Widget") return Promise.resolve("unknown-kind" as const);
    return Promise.resolve(
      this.targets.has(`${t.kind}/${t.name}`) ? ("found" as const) : ("not-found" as const),
    );
  }
}

/** The talk's ScaledObject, with only the apiVersion changed from keda.sh/v1alpha1. */
function talkScaledObject(): Record<string, unknown> & {
  spec: Record<string, unknown>;
  metadata: Record<string, unknown>;
} {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "kafka-scaledobject", namespace: "demo" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "kafka-consumer" },
      pollingInterval: 10,
      cooldownPeriod: 30,
      idleReplicaCount: 0,
      minReplicaCount: 1,
      maxReplicaCount: 5,
      triggers: [
        {
          type: "kafka",
          metadata: {
            bootstrapServers: "my-cluster-kafka-bootstrap.kafka.svc.cluster.local:9092",
            consumerGroup: "g1",
            topic: "my-topic",
            lagThreshold: "10",
            offsetResetPolicy: "latest",
            allowIdleConsumers: "false",
            version: "1.0.0",
          },
        },
      ],
    },
  };
}

function create(object: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return { uid: "u1", operation: "CREATE", namespace: "demo", name: "kafka-scaledobject", object, ...extra };
}

function kafkaTrigger(so: ReturnType<typeof talkScaledObject>) {
  return (so.spec["triggers"] as { metadata: Record<string, string>; authenticationRef?: unknown }[])[0]!;
}

async function check(so: unknown, lookups = new FakeLookups(), extra: Partial<AdmissionRequest> = {}) {
  return checkScaledObject(create(so, extra), { lookups });
}

function messages(o: Outcome): string[] {
  return o.problems.map((p) => p.message);
}

describe("ScaledObject admission", () => {
  it("admits the talk's KEDA ScaledObject with only the apiVersion changed, without warnings", async () => {
    const o = await check(talkScaledObject());
    assert.deepEqual(o, { problems: [], warnings: [], skipped: false });
    assert.deepEqual(verdictOf(o), { allowed: true });
  });

  it("refuses min > max and idle >= min with KEDA's messages", async () => {
    const so = talkScaledObject();
    Object.assign(so.spec, { minReplicaCount: 6, maxReplicaCount: 5, idleReplicaCount: undefined });
    assert.deepEqual((await check(so)).problems, [
      {
        reason: "incorrect-replicas",
        message: "spec.minReplicaCount: minReplicaCount must be less than or equal to maxReplicaCount",
      },
    ]);
    const idle = talkScaledObject();
    Object.assign(idle.spec, { minReplicaCount: 1, idleReplicaCount: 1 });
    assert.deepEqual((await check(idle)).problems, [
      {
        reason: "incorrect-replicas",
        message: "spec.idleReplicaCount: IdleReplicaCount=1 must be less than MinReplicaCount=1",
      },
    ]);
  });

  it("refuses an invalid fallback", async () => {
    const so = talkScaledObject();
    so.spec["fallback"] = { failureThreshold: 3, replicas: 2, behavior: "scalingModifiers" };
    assert.deepEqual((await check(so)).problems, [
      {
        reason: "incorrect-fallback",
        message:
          "spec.fallback.behavior: fallback.behavior scalingModifiers requires advanced.scalingModifiers.formula",
      },
    ]);
  });

  it("refuses an unknown trigger type, listing the supported ones", async () => {
    const so = talkScaledObject();
    so.spec["triggers"] = [{ type: "prometheus", metadata: { query: "up" } }];
    assert.deepEqual(messages(await check(so)), [
      'spec.triggers[0].type: trigger type "prometheus" is not supported by lagscale; supported types: kafka, cron',
    ]);
  });

  it("refuses bad kafka and cron metadata, each problem naming its parameter", async () => {
    const so = talkScaledObject();
    kafkaTrigger(so).metadata["lagThreshold"] = "0";
    kafkaTrigger(so).metadata["offsetResetPolicy"] = "newest";
    (so.spec["triggers"] as unknown[]).push({
      type: "cron",
      name: "business-hours",
      metadata: { timezone: "Mars/Olympus", start: "0 8 * * *", end: "0 8 * * *", desiredReplicas: "2" },
    });
    const o = await check(so);
    assert.deepEqual(messages(o), [
      'spec.triggers[0].metadata.offsetResetPolicy: parameter "offsetResetPolicy" value "newest" must be one of [latest earliest]',
      'spec.triggers[0].metadata.lagThreshold: "lagThreshold" must be positive number',
      "spec.triggers[1].metadata.end: start and end can not have exactly same time input",
      'spec.triggers[1].metadata.timezone: timezone "Mars/Olympus" is not an IANA time zone name (for example Etc/UTC or Europe/Paris; names are case-sensitive)',
    ]);
    assert.ok(o.problems.every((p) => p.reason === "incorrect-triggers"));
  });

  it("does not fail on values that come from the environment or the TriggerAuthentication", async () => {
    const so = talkScaledObject();
    const t = kafkaTrigger(so);
    delete t.metadata["bootstrapServers"];
    t.metadata["bootstrapServersFromEnv"] = "KAFKA_BROKERS";
    t.metadata["sasl"] = "scram_sha512";
    t.metadata["tls"] = "enable";
    // Without a TriggerAuthentication the credentials can come from nowhere.
    assert.deepEqual(messages(await check(so)), [
      "spec.triggers[0].metadata.username: no username given",
      "spec.triggers[0].metadata.password: no password given",
    ]);
    t.authenticationRef = { name: "kafka-auth" };
    assert.deepEqual(messages(await check(so)), []);
    // A bad value written in the metadata is wrong whatever the TriggerAuthentication holds.
    t.metadata["sasl"] = "scram-sha-512";
    assert.deepEqual(messages(await check(so)), [
      'spec.triggers[0].metadata.sasl: parameter "sasl" value "scram-sha-512" must be one of [none plaintext scram_sha256 scram_sha512 oauthbearer gssapi]',
    ]);
    // bootstrapServers cannot come from the TriggerAuthentication, only from the metadata or the env.
    delete t.metadata["bootstrapServersFromEnv"];
    t.metadata["sasl"] = "plaintext";
    assert.deepEqual(messages(await check(so)), [
      'spec.triggers[0].metadata.bootstrapServers: missing required parameter "bootstrapServers" in [triggerMetadata resolvedEnv]',
    ]);
  });

  it("refuses duplicate trigger names, an empty trigger list and a name over 63 characters", async () => {
    const so = talkScaledObject();
    const t = kafkaTrigger(so);
    so.spec["triggers"] = [
      { ...t, name: "lag" },
      { ...t, name: "lag" },
    ];
    assert.deepEqual(await check(so).then((o) => o.problems.map((p) => p.reason)), ["incorrect-triggers"]);
    so.spec["triggers"] = [];
    assert.deepEqual(messages(await check(so)), [
      "spec.triggers: at least one trigger is required (kafka or cron)",
    ]);
    const long = talkScaledObject();
    long.metadata["name"] = "x".repeat(64);
    assert.deepEqual((await check(long)).problems, [
      {
        reason: "name-too-long",
        message: `metadata.name: scaledobject name "${"x".repeat(64)}" is 64 characters long; must be no more than 63 characters because it is used as a label value`,
      },
    ]);
  });

  it("refuses a second ScaledObject on the same target (name, kind and API group)", async () => {
    const lookups = new FakeLookups();
    lookups.scaledObjects = [
      { name: "kafka-scaledobject", scaleTargetRef: { name: "kafka-consumer" } }, // itself, on update
      {
        name: "other-kind",
        scaleTargetRef: { apiVersion: "apps/v1", kind: "StatefulSet", name: "kafka-consumer" },
      },
      { name: "first", scaleTargetRef: { name: "kafka-consumer" } },
    ];
    assert.deepEqual((await check(talkScaledObject(), lookups)).problems, [
      {
        reason: "other-scaled-object",
        message:
          "the workload 'kafka-consumer' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'first'",
      },
    ]);
    assert.ok(sameTarget({ apiVersion: "apps/v1beta2", kind: "Deployment", name: "a" }, { name: "a" }));
    assert.ok(!sameTarget({ apiVersion: "example.com/v1", kind: "Deployment", name: "a" }, { name: "a" }));
  });

  it("refuses a target that already has an HPA, unless the HPA opts out", async () => {
    const lookups = new FakeLookups();
    const hpa = (name: string, annotations: Record<string, string> = {}): HpaSummary => ({
      name,
      annotations,
      ownerReferences: [],
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "kafka-consumer" },
    });
    lookups.hpas = [
      hpa("keda-opt-out", { "validations.keda.sh/hpa-ownership": "false" }),
      hpa("lagscale-opt-out", { "lagscale.io/hpa-ownership": "false" }),
      {
        ...hpa("elsewhere"),
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "producer" },
      },
    ];
    assert.deepEqual((await check(talkScaledObject(), lookups)).problems, []);
    lookups.hpas.push(hpa("consumer-cpu", { "validations.keda.sh/hpa-ownership": "true" }));
    const o = await check(talkScaledObject(), lookups);
    assert.deepEqual(
      o.problems.map((p) => p.reason),
      ["other-hpa"],
    );
    assert.match(
      o.problems[0]!.message,
      /^the workload 'kafka-consumer' of type 'apps\/v1\.Deployment' is already managed by the hpa 'consumer-cpu'/,
    );
  });

  it("refuses a target that does not exist or whose kind is not served, except on dry run", async () => {
    const so = talkScaledObject();
    (so.spec["scaleTargetRef"] as Record<string, string>)["name"] = "missing";
    assert.deepEqual((await check(so)).problems, [
      {
        reason: "target-not-found",
        message:
          'spec.scaleTargetRef: Deployment "missing" (apps/v1) not found in namespace "demo"; create it before the ScaledObject',
      },
    ]);
    assert.deepEqual((await check(so, new FakeLookups(), { dryRun: true })).problems, []);
    so.spec["scaleTargetRef"] = { apiVersion: "example.com/v1", kind: "Widget", name: "w" };
    assert.deepEqual(
      (await check(so)).problems.map((p) => p.reason),
      ["unknown-target-kind"],
    );
  });

  it("admits with a warning when a lookup fails (the webhook must not block on its own trouble)", async () => {
    const lookups = new FakeLookups();
    lookups.fail = true;
    const o = await check(talkScaledObject(), lookups);
    assert.deepEqual(o.problems, []);
    assert.deepEqual(o.warnings, [
      "lagscale could not check for other ScaledObjects on the same target: etcd is gone",
    ]);
  });

  it("warns about an irrelevant cooldownPeriod as KEDA does, but not about pollingInterval", async () => {
    const so = talkScaledObject();
    delete so.spec["idleReplicaCount"];
    const o = await check(so);
    assert.deepEqual(o.problems, []);
    assert.deepEqual(o.warnings, [
      "CooldownPeriod is configured but is not relevant. CooldownPeriod is only relevant when minReplicaCount = 0 or idleReplicaCount = 0",
    ]);
  });

  it("refuses a schema error and a bad paused-replicas annotation", async () => {
    const so = talkScaledObject();
    so.spec["maxReplicas"] = 5;
    assert.deepEqual((await check(so)).problems, [
      {
        reason: "invalid-spec",
        message: "spec.maxReplicas: is not a known field here (check its spelling and indentation)",
      },
    ]);
    const paused = talkScaledObject();
    paused.metadata["annotations"] = { "lagscale.io/paused-replicas": "two" };
    assert.deepEqual(
      (await check(paused)).problems.map((p) => p.reason),
      ["invalid-annotations"],
    );
  });

  it("allows an update that keeps the spec without any check or lookup; counts the others", async () => {
    const registry = new Registry();
    const metrics = webhookMetrics(registry);
    const lookups = new FakeLookups();
    const old = talkScaledObject();
    old.spec["maxReplicaCount"] = 0; // stored before the webhook existed; invalid now
    const next = { ...old, metadata: { ...old.metadata, finalizers: [] as string[] } };
    const update: AdmissionRequest = { ...create(next), operation: "UPDATE", oldObject: old };
    const o = await checkScaledObject(update, { lookups, metrics });
    assert.deepEqual(o, { problems: [], warnings: [], skipped: true });
    assert.equal(lookups.calls, 0);

    const bad = talkScaledObject();
    Object.assign(bad.spec, { minReplicaCount: 2, idleReplicaCount: 3 });
    await checkScaledObject(create(bad), { lookups, metrics });
    await checkScaledObject(
      { ...create(talkScaledObject()), operation: "UPDATE", oldObject: bad },
      { lookups, metrics },
    );
    const text = await registry.metrics();
    assert.match(
      text,
      /lagscale_webhook_scaled_object_validations_total\{namespace="demo",action="create"\} 1/,
    );
    assert.match(
      text,
      /lagscale_webhook_scaled_object_validations_total\{namespace="demo",action="update"\} 1/,
    );
    assert.match(
      text,
      /lagscale_webhook_scaled_object_validation_errors_total\{namespace="demo",action="create",reason="incorrect-replicas"\} 1/,
    );
    assert.doesNotMatch(text, /action="update",reason=/);
  });
});

describe("ScaledJob and TriggerAuthentication admission", () => {
  const job = (triggers: unknown[]) => ({
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledJob",
    metadata: { name: "jobs", namespace: "demo" },
    spec: { jobTargetRef: { template: { spec: { containers: [{ name: "w", image: "w" }] } } }, triggers },
  });

  it("ScaledJob: schema and triggers", () => {
    const good = {
      type: "cron",
      metadata: { timezone: "Etc/UTC", start: "0 8 * * *", end: "0 9 * * *", desiredReplicas: "1" },
    };
    assert.deepEqual(checkScaledJob(create(job([good]))).problems, []);
    const o = checkScaledJob(
      create(
        job([
          { ...good, metricType: "Value" },
          { type: "rabbitmq", metadata: {} },
        ]),
      ),
    );
    assert.deepEqual(messages(o), [
      "spec.triggers[0].metricType: Cannot set metricType in ScaledJob triggers",
      'spec.triggers[1].type: trigger type "rabbitmq" is not supported by lagscale; supported types: kafka, cron',
    ]);
  });

  it("TriggerAuthentication: refuses sources lagscale cannot read, naming the field", () => {
    const ta = (spec: unknown, kind = "TriggerAuthentication") => ({
      apiVersion: "lagscale.io/v1alpha1",
      kind,
      metadata: { name: "a", namespace: "demo" },
      spec,
    });
    assert.deepEqual(
      checkTriggerAuthentication(
        create(ta({ secretTargetRef: [{ parameter: "password", name: "s", key: "p" }] })),
        "TriggerAuthentication",
      ).problems,
      [],
    );
    const o = checkTriggerAuthentication(
      create(ta({ hashiCorpVault: { address: "https://vault" } }, "ClusterTriggerAuthentication")),
      "ClusterTriggerAuthentication",
    );
    assert.deepEqual(messages(o), [
      "spec.hashiCorpVault: HashiCorp Vault (spec.hashiCorpVault) is not supported by lagscale; use secretTargetRef, configMapTargetRef or env",
    ]);
    const typo = checkTriggerAuthentication(create(ta({ secretTargetRefs: [] })), "TriggerAuthentication");
    assert.deepEqual(
      typo.problems.map((p) => p.reason),
      ["invalid-spec"],
    );
  });
});
