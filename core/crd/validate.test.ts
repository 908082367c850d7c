import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  pointerToPath,
  validateClusterTriggerAuthentication,
  validateScaledJob,
  validateScaledObject,
  validateTriggerAuthentication,
  type FieldError,
} from "./validate.js";
import { unsupportedAuthSources } from "./triggerauthentication.js";

// The ScaledObject of the talk (SEED.md), as a KEDA user writes it, with only apiVersion changed.
const seedYaml = `
apiVersion: lagscale.io/v1alpha1
kind: ScaledObject
metadata:
  name: kafka-consumer
  namespace: default
spec:
  scaleTargetRef:
    name: kafka-consumer
  pollingInterval: 10
  cooldownPeriod: 30
  idleReplicaCount: 0
  minReplicaCount: 1
  maxReplicaCount: 5
  triggers:
    - type: kafka
      metadata:
        bootstrapServers: my-cluster-kafka-bootstrap.kafka.svc.cluster.local:9092
        consumerGroup: g1
        topic: my-topic
        lagThreshold: "10"
        offsetResetPolicy: latest
        allowIdleConsumers: "false"
        version: 1.0.0
`;
const seed = (): Record<string, unknown> => parse(seedYaml) as Record<string, unknown>;
const withSpec = (patch: Record<string, unknown>): unknown => {
  const so = seed();
  so["spec"] = { ...(so["spec"] as object), ...patch };
  return so;
};
function errorsOf(r: { ok: true } | { ok: false; errors: FieldError[] }): string[] {
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
}

test("the talk's KEDA ScaledObject validates once apiVersion is lagscale.io/v1alpha1, and defaults resolve", () => {
  const r = validateScaledObject(seed());
  assert.ok(r.ok, JSON.stringify(errorsOf(r)));
  const spec = r.resolved.spec;
  assert.equal(spec.pollingInterval, 10);
  assert.equal(spec.cooldownPeriod, 30);
  assert.equal(spec.initialCooldownPeriod, 0);
  assert.equal(spec.minReplicaCount, 1);
  assert.equal(spec.maxReplicaCount, 5);
  assert.equal(spec.idleReplicaCount, 0);
  assert.deepEqual(spec.scaleTargetRef, {
    name: "kafka-consumer",
    apiVersion: "apps/v1",
    kind: "Deployment",
  });
  assert.equal(spec.triggers[0]!.metricType, "AverageValue");
  assert.equal(spec.fallback, undefined);
  assert.equal(spec.advanced, undefined);
  assert.equal(
    (r.value.spec as { initialCooldownPeriod?: number }).initialCooldownPeriod,
    undefined,
    "input untouched",
  );
});

test("KEDA's defaults: pollingInterval 30, cooldownPeriod 300, min 0, max 100, fallback behavior static, auth kind", () => {
  const r = validateScaledObject({
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "x" },
    spec: {
      scaleTargetRef: { name: "w" },
      fallback: { failureThreshold: 3, replicas: 6 },
      triggers: [{ type: "kafka", metadata: {}, authenticationRef: { name: "auth" } }],
    },
  });
  assert.ok(r.ok, JSON.stringify(errorsOf(r)));
  const s = r.resolved.spec;
  assert.deepEqual(
    [s.pollingInterval, s.cooldownPeriod, s.initialCooldownPeriod, s.minReplicaCount, s.maxReplicaCount],
    [30, 300, 0, 0, 100],
  );
  assert.equal(s.fallback?.behavior, "static");
  assert.deepEqual(s.triggers[0]!.authenticationRef, { name: "auth", kind: "TriggerAuthentication" });
});

test("a KEDA apiVersion gets an error that says what to change", () => {
  const so = seed();
  so["apiVersion"] = "keda.sh/v1alpha1";
  assert.deepEqual(errorsOf(validateScaledObject(so)), [
    'apiVersion: must be lagscale.io/v1alpha1, got "keda.sh/v1alpha1" (a KEDA manifest works after changing keda.sh/v1alpha1 to lagscale.io/v1alpha1)',
  ]);
});

test("schema errors: all of them, each with its path and an actionable message", () => {
  const r = validateScaledObject(
    withSpec({
      scaleTargetRef: { name: "" },
      pollingInterval: 0,
      cooldownPeriod: "300",
      maxReplicaCount: 2.5,
      fallback: { failureThreshold: 3, replicas: 1, behavior: "Static" },
      triggers: [
        { type: "kafka", metadata: { lagThreshold: 10 }, authenticationRef: { name: "a", kind: "Secret" } },
      ],
      pollingIntervall: 5,
    }),
  );
  assert.deepEqual(errorsOf(r), [
    "spec.pollingIntervall: is not a known field here (check its spelling and indentation)",
    "spec.scaleTargetRef.name: must not be empty",
    "spec.pollingInterval: must be >= 1, got 0",
    'spec.cooldownPeriod: must be an integer, got "300"',
    "spec.maxReplicaCount: must be an integer, got 2.5",
    "spec.triggers[0].metadata.lagThreshold: must be a string, got 10 (quote it in YAML)",
    'spec.triggers[0].authenticationRef.kind: must be one of [TriggerAuthentication ClusterTriggerAuthentication] (case-sensitive), got "Secret"',
    'spec.fallback.behavior: must be one of [static currentReplicas currentReplicasIfHigher currentReplicasIfLower scalingModifiers] (case-sensitive), got "Static"',
  ]);
});

test("required fields and empty triggers", () => {
  assert.deepEqual(
    errorsOf(
      validateScaledObject({
        apiVersion: "lagscale.io/v1alpha1",
        kind: "ScaledObject",
        metadata: {},
        spec: { triggers: [] },
      }),
    ),
    ["spec.scaleTargetRef: is required", "spec.triggers: must have at least 1 item(s)"],
  );
  assert.deepEqual(errorsOf(validateScaledObject(withSpec({ triggers: [{ type: "kafka" }] }))), [
    "spec.triggers[0].metadata: is required",
  ]);
});

test("HPA behavior limits (KEDA's webhook test rejects stabilizationWindowSeconds 3700)", () => {
  const behavior = (rules: unknown) =>
    withSpec({ advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: rules } } } });
  assert.deepEqual(errorsOf(validateScaledObject(behavior({ stabilizationWindowSeconds: 3700 }))), [
    "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds: must be <= 3600, got 3700",
  ]);
  assert.deepEqual(
    errorsOf(
      validateScaledObject(
        behavior({ selectPolicy: "max", policies: [{ type: "Pods", value: 0, periodSeconds: 1801 }] }),
      ),
    ),
    [
      'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.selectPolicy: must be one of [Max Min Disabled] (case-sensitive), got "max"',
      "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies[0].value: must be > 0, got 0",
      "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies[0].periodSeconds: must be <= 1800, got 1801",
    ],
  );
  const ok = validateScaledObject(
    behavior({
      stabilizationWindowSeconds: 0,
      selectPolicy: "Disabled",
      tolerance: "50m",
      policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
    }),
  );
  assert.ok(ok.ok, JSON.stringify(errorsOf(ok)));
  assert.ok(validateScaledObject(behavior({ tolerance: 1 })).ok, "tolerance is int-or-string");
});

test("CEL rule and replica bounds: min > max is one error, naming both", () => {
  assert.deepEqual(
    errorsOf(
      validateScaledObject(withSpec({ minReplicaCount: 6, maxReplicaCount: 5, idleReplicaCount: undefined })),
    ),
    ["spec.minReplicaCount: minReplicaCount must be less than or equal to maxReplicaCount"],
  );
  assert.deepEqual(errorsOf(validateScaledObject(withSpec({ minReplicaCount: 1, idleReplicaCount: 1 }))), [
    "spec.idleReplicaCount: IdleReplicaCount=1 must be less than MinReplicaCount=1",
  ]);
});

test("triggers: unique names, useCachedMetrics not on cron, metricType AverageValue|Value", () => {
  const t = (extra: Record<string, unknown>) => ({ type: "kafka", metadata: {}, ...extra });
  assert.deepEqual(
    errorsOf(
      validateScaledObject(
        withSpec({
          triggers: [
            t({ name: "a" }),
            t({ name: "a" }),
            { type: "cron", metadata: {}, useCachedMetrics: true },
            t({ metricType: "Utilization" }),
            t({ metricType: "averagevalue" }),
          ],
        }),
      ),
    ),
    [
      'spec.triggers[1].name: triggerName "a" is defined multiple times in the ScaledObject/ScaledJob, but it must be unique (also at spec.triggers[0])',
      'spec.triggers[2].useCachedMetrics: property "useCachedMetrics" is not supported for "cron" scaler',
      "spec.triggers[3].metricType: 'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'",
      'spec.triggers[4].metricType: must be one of [AverageValue Value], got "averagevalue"',
    ],
  );
  const value = validateScaledObject(withSpec({ triggers: [t({ metricType: "Value" })] }));
  assert.ok(value.ok);
  assert.equal(value.resolved.spec.triggers[0]!.metricType, "Value");
});

const scaledJob = (spec: Record<string, unknown>) => ({
  apiVersion: "lagscale.io/v1alpha1",
  kind: "ScaledJob",
  metadata: { name: "sj" },
  spec: {
    jobTargetRef: {
      parallelism: 1,
      backoffLimit: 4,
      podFailurePolicy: { rules: [] },
      template: { spec: { containers: [{ name: "c", image: "busybox" }], restartPolicy: "Never" } },
    },
    triggers: [{ type: "kafka", metadata: { topic: "t" } }],
    ...spec,
  },
});

test("ScaledJob: KEDA's defaults, the pod template kept as given, strategies checked", () => {
  const r = validateScaledJob(scaledJob({}));
  assert.ok(r.ok, JSON.stringify(errorsOf(r)));
  const s = r.resolved.spec;
  assert.deepEqual(
    [
      s.pollingInterval,
      s.successfulJobsHistoryLimit,
      s.failedJobsHistoryLimit,
      s.minReplicaCount,
      s.maxReplicaCount,
    ],
    [30, 100, 100, 0, 100],
  );
  assert.deepEqual((s.jobTargetRef as Record<string, unknown>)["podFailurePolicy"], { rules: [] });
  assert.equal(s.scalingStrategy, undefined);
  const withStrategy = validateScaledJob(
    scaledJob({ scalingStrategy: { customScalingRunningJobPercentage: "0.5" } }),
  );
  assert.ok(withStrategy.ok);
  assert.equal(withStrategy.resolved.spec.scalingStrategy?.strategy, "default");
  assert.equal(withStrategy.resolved.spec.scalingStrategy?.multipleScalersCalculation, "max");
  assert.deepEqual(
    errorsOf(
      validateScaledJob(
        scaledJob({
          scalingStrategy: { strategy: "fast", multipleScalersCalculation: "median" },
          rollout: { strategy: "gradual", propagationPolicy: "orphan" },
          triggers: [{ type: "kafka", metadata: {}, metricType: "Value" }],
        }),
      ),
    ),
    [
      'spec.rollout.propagationPolicy: must be one of [background foreground] (case-sensitive), got "orphan"',
      'spec.scalingStrategy.strategy: must be one of [default custom accurate eager] (case-sensitive), got "fast"',
      'spec.scalingStrategy.multipleScalersCalculation: must be one of [max min avg sum] (case-sensitive), got "median"',
    ],
  );
  assert.deepEqual(
    errorsOf(
      validateScaledJob(scaledJob({ triggers: [{ type: "kafka", metadata: {}, metricType: "Value" }] })),
    ),
    ["spec.triggers[0].metricType: Cannot set metricType in ScaledJob triggers"],
  );
  assert.deepEqual(errorsOf(validateScaledJob(scaledJob({ jobTargetRef: { parallelism: 1 } }))), [
    "spec.jobTargetRef.template: is required",
  ]);
});

test("TriggerAuthentication: secretTargetRef and env as KEDA; other sources accepted but reported unsupported", () => {
  const ta = {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "TriggerAuthentication",
    metadata: { name: "kafka-auth" },
    spec: {
      secretTargetRef: [
        { parameter: "sasl", name: "kafka-secrets", key: "sasl" },
        { parameter: "password", name: "kafka-secrets", key: "password" },
      ],
      env: [{ parameter: "username", name: "KAFKA_USER" }],
    },
  };
  const r = validateTriggerAuthentication(ta);
  assert.ok(r.ok, JSON.stringify(errorsOf(r)));
  assert.deepEqual(unsupportedAuthSources(r.value.spec), []);
  assert.deepEqual(
    errorsOf(
      validateTriggerAuthentication({ ...ta, spec: { secretTargetRef: [{ parameter: "p", name: "s" }] } }),
    ),
    ["spec.secretTargetRef[0].key: is required"],
  );
  const withIdentity = {
    ...ta,
    spec: { podIdentity: { provider: "aws", roleArn: "arn" }, hashiCorpVault: { address: "http://vault" } },
  };
  const v = validateTriggerAuthentication(withIdentity);
  assert.ok(v.ok, JSON.stringify(errorsOf(v)));
  assert.deepEqual(
    unsupportedAuthSources(v.value.spec).map((e) => e.path),
    ["spec.podIdentity.provider", "spec.hashiCorpVault"],
  );
  assert.match(
    unsupportedAuthSources(v.value.spec)[0]!.message,
    /"aws" is not supported by lagscale; use secretTargetRef/,
  );
  const cta = validateClusterTriggerAuthentication({ ...ta, kind: "ClusterTriggerAuthentication" });
  assert.ok(cta.ok);
  assert.equal(validateClusterTriggerAuthentication(ta).ok, false, "kind must match");
});

test("pointerToPath renders keys that are not identifiers in brackets", () => {
  assert.equal(pointerToPath("/spec/triggers/0/type"), "spec.triggers[0].type");
  assert.equal(
    pointerToPath("/metadata/annotations/lagscale.io~1paused"),
    'metadata.annotations["lagscale.io/paused"]',
  );
  assert.equal(pointerToPath(""), "(root)");
});
