import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ScaledJob, ScaledObject, TriggerAuthenticationSpec } from "../../core/crd/index.js";
import { parseKafkaTrigger } from "../../core/triggers/index.js";
import {
  clusterObjectNamespaceFromEnv,
  dependsOnSecret,
  expandEnvValue,
  resolveScaledJobInputs,
  resolveScaledObjectInputs,
  type ResolvedTriggerInputs,
  type TriggerResolution,
} from "./resolve.js";
import type { AuthRefKind, AuthSources, PodTemplate, TargetLookup, TargetRef } from "./sources.js";

/** An in-memory cluster; counts reads so memoization can be checked. */
class FakeSources implements AuthSources {
  secrets = new Map<string, Record<string, string>>();
  configMaps = new Map<string, Record<string, string>>();
  auths = new Map<string, TriggerAuthenticationSpec>();
  targets = new Map<string, PodTemplate | null>();
  reads: string[] = [];
  failSecrets = false;

  getSecret(namespace: string, name: string) {
    this.reads.push(`secret:${namespace}/${name}`);
    if (this.failSecrets) return Promise.reject(new Error("connection refused"));
    return Promise.resolve(this.secrets.get(`${namespace}/${name}`));
  }
  getConfigMap(namespace: string, name: string) {
    this.reads.push(`configmap:${namespace}/${name}`);
    return Promise.resolve(this.configMaps.get(`${namespace}/${name}`));
  }
  getTriggerAuthentication(kind: AuthRefKind, namespace: string, name: string) {
    const key = kind === "ClusterTriggerAuthentication" ? `cluster/${name}` : `${namespace}/${name}`;
    this.reads.push(`auth:${key}`);
    return Promise.resolve(this.auths.get(key));
  }
  getPodTemplate(namespace: string, target: TargetRef): Promise<TargetLookup> {
    this.reads.push(`target:${target.kind}/${namespace}/${target.name}`);
    if (target.kind === "Unknown") return Promise.resolve({ found: false, reason: "unknown-kind" });
    const t = this.targets.get(`${target.kind}/${namespace}/${target.name}`);
    if (t === undefined) return Promise.resolve({ found: false, reason: "not-found" });
    return Promise.resolve(t === null ? { found: true } : { found: true, template: t });
  }
}

function so(
  triggers: ScaledObject["spec"]["triggers"],
  target: Partial<ScaledObject["spec"]["scaleTargetRef"]> = {},
): Pick<ScaledObject, "metadata" | "spec"> {
  return {
    metadata: { name: "consumer", namespace: "demo" },
    spec: { scaleTargetRef: { name: "consumer", ...target }, triggers },
  };
}

const kafka = (metadata: Record<string, string>, authRef?: { name: string; kind?: AuthRefKind }) => ({
  type: "kafka",
  metadata,
  ...(authRef ? { authenticationRef: authRef } : {}),
});

function ok(r: TriggerResolution) {
  assert.ok(r.ok, `expected resolution, got errors: ${r.ok ? "" : r.errors.join(" | ")}`);
  return r.input;
}
function errs(r: TriggerResolution | undefined): string[] {
  assert.ok(r && !r.ok, "expected errors");
  return r.errors;
}
const first = (res: ResolvedTriggerInputs) => res.triggers[0]!;

function cluster(): FakeSources {
  const f = new FakeSources();
  f.targets.set("Deployment/demo/consumer", {
    spec: {
      containers: [
        {
          name: "main",
          envFrom: [
            { configMapRef: { name: "kafka-settings" }, prefix: "CFG_" },
            { secretRef: { name: "absent", optional: true } },
          ],
          env: [
            { name: "BROKERS", value: "broker-0:9092, broker-1:9092" },
            { name: "GROUP", valueFrom: { configMapKeyRef: { name: "kafka-settings", key: "group" } } },
            { name: "TOPIC", value: "$(CFG_topic)" },
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "kafka-user", key: "password" } } },
            { name: "MAYBE", valueFrom: { secretKeyRef: { name: "nope", key: "x", optional: true } } },
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          ],
        },
        { name: "sidecar", env: [{ name: "BROKERS", value: "sidecar-broker:9092" }] },
      ],
    },
  });
  f.configMaps.set("demo/kafka-settings", { group: "g1", topic: "my-topic" });
  f.secrets.set("demo/kafka-user", { username: "app", password: "s3cret" });
  return f;
}

describe("resolvedEnv from the target's container (<name>FromEnv)", () => {
  it("reads env values, secretKeyRef, configMapKeyRef and envFrom (with prefix), expanding $(VAR)", async () => {
    const f = cluster();
    const res = await resolveScaledObjectInputs(
      f,
      so([
        kafka({ bootstrapServersFromEnv: "BROKERS", consumerGroupFromEnv: "GROUP", topicFromEnv: "TOPIC" }),
      ]),
    );
    const input = ok(first(res));
    assert.deepEqual(input.resolvedEnv, {
      CFG_group: "g1",
      CFG_topic: "my-topic",
      BROKERS: "broker-0:9092, broker-1:9092",
      GROUP: "g1",
      TOPIC: "my-topic",
      PASSWORD: "s3cret",
    });
    const parsed = parseKafkaTrigger(input);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.bootstrapServers, ["broker-0:9092", "broker-1:9092"]);
    assert.equal(parsed.value.consumerGroup, "g1");
    assert.equal(parsed.value.topic, "my-topic");
    assert.deepEqual(res.dependencies.secrets, ["demo/absent", "demo/kafka-user", "demo/nope"]);
    assert.deepEqual(res.dependencies.configMaps, ["demo/kafka-settings"]);
  });

  it("reads envSourceContainerName's container instead of the first", async () => {
    const f = cluster();
    const res = await resolveScaledObjectInputs(
      f,
      so([kafka({ bootstrapServersFromEnv: "BROKERS" })], { envSourceContainerName: "sidecar" }),
    );
    assert.deepEqual(ok(first(res)).resolvedEnv, { BROKERS: "sidecar-broker:9092" });
  });

  it("names a missing container, listing the ones there are", async () => {
    const res = await resolveScaledObjectInputs(
      cluster(),
      so([kafka({ bootstrapServersFromEnv: "BROKERS" })], { envSourceContainerName: "app" }),
    );
    assert.deepEqual(errs(first(res)), [
      'spec.triggers[0].metadata (<name>FromEnv): container "app" not found in the pod template of Deployment demo/consumer (containers: main, sidecar)',
    ]);
  });

  it("reads the target only when a trigger needs its environment", async () => {
    const f = new FakeSources();
    const res = await resolveScaledObjectInputs(f, so([kafka({ bootstrapServers: "b:9092" })]));
    assert.deepEqual(ok(first(res)).resolvedEnv, {});
    assert.deepEqual(f.reads, []);
    const missing = await resolveScaledObjectInputs(f, so([kafka({ bootstrapServersFromEnv: "B" })]));
    assert.deepEqual(errs(first(missing)), [
      "spec.triggers[0].metadata (<name>FromEnv): Deployment demo/consumer (scaleTargetRef) not found",
    ]);
  });

  it("explains a target kind that is not served and a target without a pod template", async () => {
    const f = new FakeSources();
    f.targets.set("Rollout/demo/consumer", null);
    const unknown = await resolveScaledObjectInputs(
      f,
      so([kafka({ topicFromEnv: "T" })], { kind: "Unknown", apiVersion: "example.com/v1" }),
    );
    assert.match(errs(first(unknown))[0]!, /serves no kind "Unknown" in "example\.com\/v1"/);
    const noTemplate = await resolveScaledObjectInputs(
      f,
      so([kafka({ topicFromEnv: "T" })], { kind: "Rollout", apiVersion: "argoproj.io/v1alpha1" }),
    );
    assert.match(
      errs(first(noTemplate))[0]!,
      /Rollout demo\/consumer \(scaleTargetRef\) has no pod template/,
    );
  });

  it("fails on a missing non-optional Secret or key in the environment, naming the variable", async () => {
    const f = cluster();
    f.secrets.set("demo/kafka-user", { username: "app" });
    const res = await resolveScaledObjectInputs(f, so([kafka({ bootstrapServersFromEnv: "BROKERS" })]));
    assert.deepEqual(errs(first(res)), [
      'spec.triggers[0].metadata (<name>FromEnv): container "main" of Deployment demo/consumer, env PASSWORD: Secret demo/kafka-user has no key "password"',
    ]);
    f.configMaps.delete("demo/kafka-settings");
    const gone = await resolveScaledObjectInputs(f, so([kafka({ bootstrapServersFromEnv: "BROKERS" })]));
    assert.match(
      errs(first(gone))[0]!,
      /envFrom\[0\]: ConfigMap "kafka-settings" not found in namespace "demo"/,
    );
  });

  it("ScaledJob: the environment comes from its own job template", async () => {
    const sj = {
      metadata: { name: "jobs", namespace: "demo" },
      spec: {
        jobTargetRef: {
          template: { spec: { containers: [{ name: "w", env: [{ name: "B", value: "x:1" }] }] } },
        },
        triggers: [kafka({ bootstrapServersFromEnv: "B" })],
      },
    } as unknown as Pick<ScaledJob, "metadata" | "spec">;
    const res = await resolveScaledJobInputs(new FakeSources(), sj);
    assert.deepEqual(ok(first(res)).resolvedEnv, { B: "x:1" });
  });
});

describe("authParams from a TriggerAuthentication", () => {
  it("secretTargetRef, configMapTargetRef and env give the SASL and TLS parameters", async () => {
    const f = cluster();
    f.secrets.set("demo/kafka-tls", { "ca.crt": "CA PEM", "tls.crt": "CERT PEM", "tls.key": "KEY PEM" });
    f.configMaps.set("demo/kafka-mode", { sasl: "scram_sha512" });
    f.auths.set("demo/kafka-auth", {
      env: [{ parameter: "password", name: "PASSWORD" }],
      configMapTargetRef: [{ parameter: "sasl", name: "kafka-mode", key: "sasl" }],
      secretTargetRef: [
        { parameter: "username", name: "kafka-user", key: "username" },
        { parameter: "tls", name: "kafka-tls-mode", key: "tls" },
        { parameter: "ca", name: "kafka-tls", key: "ca.crt" },
        { parameter: "cert", name: "kafka-tls", key: "tls.crt" },
        { parameter: "key", name: "kafka-tls", key: "tls.key" },
      ],
    });
    f.secrets.set("demo/kafka-tls-mode", { tls: "enable\n" });
    const res = await resolveScaledObjectInputs(
      f,
      so([kafka({ bootstrapServers: "b:9093", consumerGroup: "g1" }, { name: "kafka-auth" })]),
    );
    const input = ok(first(res));
    assert.deepEqual(input.authParams, {
      password: "s3cret",
      sasl: "scram_sha512",
      username: "app",
      tls: "enable\n",
      ca: "CA PEM",
      cert: "CERT PEM",
      key: "KEY PEM",
    });
    const parsed = parseKafkaTrigger(input);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.value.sasl, { mechanism: "scram_sha512", username: "app", password: "s3cret" });
    assert.deepEqual(parsed.value.tls, {
      enabled: true,
      unsafeSsl: false,
      ca: "CA PEM",
      cert: "CERT PEM",
      key: "KEY PEM",
    });
    assert.ok(dependsOnSecret(res.dependencies, "demo", "kafka-tls"));
    assert.ok(!dependsOnSecret(res.dependencies, "other", "kafka-tls"));
    assert.deepEqual(res.dependencies.triggerAuthentications, ["demo/kafka-auth"]);
    // Each Secret is read once however many entries and triggers refer to it.
    assert.equal(f.reads.filter((r) => r === "secret:demo/kafka-tls").length, 1);
  });

  it("a later source wins for the same parameter: secretTargetRef over configMapTargetRef over env", async () => {
    const f = cluster();
    f.configMaps.set("demo/c", { v: "from-configmap" });
    f.secrets.set("demo/s", { v: "from-secret" });
    f.auths.set("demo/a", {
      env: [{ parameter: "username", name: "GROUP", containerName: "main" }],
      configMapTargetRef: [{ parameter: "username", name: "c", key: "v" }],
      secretTargetRef: [{ parameter: "username", name: "s", key: "v" }],
    });
    const res = await resolveScaledObjectInputs(f, so([kafka({}, { name: "a" })]));
    assert.equal(ok(first(res)).authParams["username"], "from-secret");
  });

  it("names a missing TriggerAuthentication, Secret, key and environment variable", async () => {
    const f = cluster();
    f.auths.set("demo/broken", {
      env: [{ parameter: "password", name: "NOT_THERE" }],
      secretTargetRef: [
        { parameter: "username", name: "missing", key: "username" },
        { parameter: "password", name: "kafka-user", key: "pass" },
      ],
    });
    const res = await resolveScaledObjectInputs(
      f,
      so([kafka({}, { name: "absent" }), kafka({}, { name: "broken" })]),
    );
    assert.deepEqual(errs(res.triggers[0]), [
      'spec.triggers[0].authenticationRef: TriggerAuthentication "absent" not found in namespace "demo"',
    ]);
    assert.deepEqual(errs(res.triggers[1]), [
      'spec.triggers[1].authenticationRef: TriggerAuthentication demo/broken spec.env[0] (parameter "password"): environment variable "NOT_THERE" is not set in the first container of Deployment demo/consumer',
      'spec.triggers[1].authenticationRef: TriggerAuthentication demo/broken spec.secretTargetRef[0] (parameter "username"): Secret "missing" not found in namespace "demo"',
      'spec.triggers[1].authenticationRef: TriggerAuthentication demo/broken spec.secretTargetRef[1] (parameter "password"): Secret demo/kafka-user has no key "pass"',
    ]);
    // A Secret that does not exist yet is a dependency too: creating it must trigger a new resolution.
    assert.ok(dependsOnSecret(res.dependencies, "demo", "missing"));
  });

  it("refuses sources lagscale cannot read, naming each", async () => {
    const f = cluster();
    f.auths.set("demo/vault", {
      hashiCorpVault: { address: "https://vault:8200" },
      podIdentity: { provider: "azure-workload" },
      secretTargetRef: [{ parameter: "username", name: "kafka-user", key: "username" }],
    });
    const res = await resolveScaledObjectInputs(f, so([kafka({}, { name: "vault" })]));
    const e = errs(first(res));
    assert.equal(e.length, 2);
    assert.match(
      e[0]!,
      /TriggerAuthentication demo\/vault: pod identity provider "azure-workload" is not supported/,
    );
    assert.match(e[1]!, /HashiCorp Vault \(spec\.hashiCorpVault\) is not supported by lagscale/);
  });

  it("a ClusterTriggerAuthentication reads Secrets from the cluster object namespace", async () => {
    const f = cluster();
    f.auths.set("cluster/shared", {
      secretTargetRef: [{ parameter: "password", name: "kafka-admin", key: "password" }],
    });
    f.secrets.set("lagscale/kafka-admin", { password: "root" });
    const trigger = kafka({}, { name: "shared", kind: "ClusterTriggerAuthentication" });
    const res = await resolveScaledObjectInputs(f, so([trigger]), { clusterObjectNamespace: "lagscale" });
    assert.deepEqual(ok(first(res)).authParams, { password: "root" });
    assert.deepEqual(res.dependencies.secrets, ["lagscale/kafka-admin"]);
    assert.deepEqual(res.dependencies.clusterTriggerAuthentications, ["shared"]);

    const noNamespace = await resolveScaledObjectInputs(f, so([trigger]));
    assert.match(errs(first(noNamespace))[0]!, /set LAGSCALE_CLUSTER_OBJECT_NAMESPACE/);
  });

  it("an API failure becomes an error on the trigger, not an exception", async () => {
    const f = cluster();
    f.failSecrets = true;
    f.auths.set("demo/a", {
      secretTargetRef: [{ parameter: "password", name: "kafka-user", key: "password" }],
    });
    const res = await resolveScaledObjectInputs(f, so([kafka({}, { name: "a" })]));
    assert.match(errs(first(res))[0]!, /could not read Secret demo\/kafka-user: connection refused/);
  });
});

describe("helpers", () => {
  it("expandEnvValue follows the kubelet's $(VAR) rules", () => {
    const env = { A: "1", B: "two" };
    assert.equal(expandEnvValue("$(A)-$(B)", env), "1-two");
    assert.equal(expandEnvValue("$(C)", env), "$(C)");
    assert.equal(expandEnvValue("$$(A)", env), "$(A)");
    assert.equal(expandEnvValue("cost $5 $", env), "cost $5 $");
    assert.equal(expandEnvValue("$(A", env), "$(A");
  });

  it("clusterObjectNamespaceFromEnv: the setting, else lagscale's own namespace, else nothing", () => {
    const file = () => "lagscale-system\n";
    const none = () => {
      throw new Error("ENOENT");
    };
    assert.equal(clusterObjectNamespaceFromEnv({ LAGSCALE_CLUSTER_OBJECT_NAMESPACE: " ops " }, file), "ops");
    assert.equal(clusterObjectNamespaceFromEnv({}, file), "lagscale-system");
    assert.equal(clusterObjectNamespaceFromEnv({}, none), undefined);
  });
});
