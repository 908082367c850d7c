import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Container } from "@kubernetes/client-node";
import { scaledObject } from "../../test/support/inject.js";
import {
  findScaledObject,
  mergedResources,
  pickKafkaTrigger,
  sidecarSettings,
  type InjectDefaults,
  type ScaledObjectView,
  type Workload,
} from "./settings.js";

const deployment: Workload = { apiVersion: "apps/v1", kind: "Deployment", name: "orders" };
const defaults: InjectDefaults = {
  image: "lagscale/sidecar:0.1.0",
  reportUrl: "https://r.lagscale.svc:9444/v1/reports",
};

test("the ScaledObject that targets the pod's workload, or the one the annotation names", () => {
  const so = (name: string, ref: ScaledObjectView["scaleTargetRef"]) =>
    scaledObject({ name, scaleTargetRef: ref });
  const list = [
    so("orders", { name: "orders" }),
    so("orders-sts", { apiVersion: "apps/v1", kind: "StatefulSet", name: "orders" }),
    so("other", { name: "other" }),
    so("old-api", { apiVersion: "apps/v1beta2", kind: "Deployment", name: "legacy" }),
    so("twin-a", { name: "twin" }),
    so("twin-b", { kind: "Deployment", name: "twin" }),
  ];
  const cases: [string, Workload | undefined, string | undefined, string][] = [
    ["default kind and apiVersion are Deployment, apps/v1", deployment, undefined, "orders"],
    ["a StatefulSet of the same name", { ...deployment, kind: "StatefulSet" }, undefined, "orders-sts"],
    [
      "the version does not count",
      { apiVersion: "apps/v1", kind: "Deployment", name: "legacy" },
      undefined,
      "old-api",
    ],
    ["the annotation wins", deployment, "other", "other"],
    ["the annotation without an owner", undefined, "other", "other"],
    [
      "nothing targets it",
      { ...deployment, name: "payments" },
      undefined,
      "no ScaledObject targets Deployment payments: create one, or name it with the annotation lagscale.io/scaled-object",
    ],
    [
      "two target it",
      { ...deployment, name: "twin" },
      undefined,
      "ScaledObjects twin-a, twin-b all target Deployment twin: name one with the annotation lagscale.io/scaled-object",
    ],
    [
      "the annotation names a missing one",
      deployment,
      "gone",
      'annotation lagscale.io/scaled-object names ScaledObject "gone", which does not exist in the pod\'s namespace',
    ],
    [
      "a bare pod",
      undefined,
      undefined,
      "the pod is not run by a Deployment or StatefulSet: name its ScaledObject with the annotation lagscale.io/scaled-object",
    ],
  ];
  for (const [name, workload, wanted, want] of cases) {
    const r = findScaledObject(list, workload, wanted);
    assert.equal(r.ok ? r.value.name : r.problem, want, name);
  }
});

test("the kafka trigger: the named one, else the first kafka trigger", () => {
  const so = scaledObject({
    triggers: [
      {
        type: "cron",
        metadata: { timezone: "UTC", start: "0 8 * * *", end: "0 9 * * *", desiredReplicas: "2" },
      },
      { type: "kafka", name: "a", metadata: {} },
      { type: "kafka", name: "b", metadata: {} },
    ],
  });
  const pick = (wanted?: string) => {
    const r = pickKafkaTrigger(so, wanted);
    return r.ok ? r.value.index : r.problem;
  };
  assert.equal(pick(), 1);
  assert.equal(pick("b"), 2);
  assert.equal(
    pick("c"),
    'annotation lagscale.io/trigger="c": ScaledObject orders has no kafka trigger of that name (kafka triggers: a, b)',
  );
  const cronOnly = scaledObject({ triggers: [so.triggers[0]!] });
  const r = pickKafkaTrigger(cronOnly, undefined);
  assert.equal(
    r.ok ? "" : r.problem,
    "ScaledObject orders has no kafka trigger: the sidecar reports Kafka consumers only",
  );
});

const consumer: V1Container[] = [
  {
    name: "consumer",
    env: [
      { name: "BROKERS", value: "kafka:9092" },
      { name: "GROUP", valueFrom: { configMapKeyRef: { name: "cfg", key: "group" } } },
      { name: "TOPIC", value: "$(PREFIX)-orders" },
    ],
  },
];

test("sidecar settings from the trigger: literal values, <name>FromEnv copies, defaults", () => {
  const cases: [string, Record<string, string>, (s: ReturnType<typeof sidecarSettings>) => void][] = [
    [
      "literal metadata",
      {
        bootstrapServers: "kafka:9092",
        consumerGroup: "orders",
        topic: "orders",
        lagThreshold: "50",
        offsetResetPolicy: "earliest",
      },
      (r) => {
        assert.ok(r.ok);
        assert.equal(r.settings.bootstrapServers, "kafka:9092");
        assert.equal(r.settings.consumerGroup, "orders");
        assert.equal(r.settings.topic, "orders");
        assert.equal(r.settings.lagThreshold, 50);
        assert.equal(r.settings.offsetResetPolicy, "earliest");
        assert.equal(r.settings.env, undefined);
      },
    ],
    [
      "KEDA's defaults: lagThreshold 10, offsetResetPolicy latest, no topic",
      { bootstrapServers: "kafka:9092", consumerGroup: "orders" },
      (r) => {
        assert.ok(r.ok);
        assert.equal(r.settings.lagThreshold, 10);
        assert.equal(r.settings.offsetResetPolicy, "latest");
        assert.equal(r.settings.topic, undefined);
      },
    ],
    [
      "FromEnv: the consumer's definitions, copied (a ConfigMap reference stays one)",
      { bootstrapServersFromEnv: "BROKERS", consumerGroupFromEnv: "GROUP", topic: "orders" },
      (r) => {
        assert.ok(r.ok);
        assert.deepEqual(r.settings.env, [
          { name: "KAFKA_BOOTSTRAP_SERVERS", value: "kafka:9092" },
          { name: "LAGSCALE_CONSUMER_GROUP", valueFrom: { configMapKeyRef: { name: "cfg", key: "group" } } },
        ]);
      },
    ],
    [
      "metadata wins over FromEnv, as in KEDA",
      { bootstrapServers: "direct:9092", bootstrapServersFromEnv: "BROKERS", consumerGroup: "g" },
      (r) => {
        assert.ok(r.ok);
        assert.equal(r.settings.bootstrapServers, "direct:9092");
        assert.equal(r.settings.env, undefined);
      },
    ],
    [
      "every problem at once",
      { bootstrapServersFromEnv: "NOPE", lagThreshold: "ten", offsetResetPolicy: "newest" },
      (r) => {
        assert.ok(!r.ok);
        assert.deepEqual(r.problems, [
          'ScaledObject orders, kafka trigger: bootstrapServersFromEnv: environment variable "NOPE" of container "consumer" is not defined',
          "ScaledObject orders, kafka trigger: consumerGroup is not set (metadata consumerGroup or consumerGroupFromEnv)",
          'ScaledObject orders, kafka trigger: unable to set param "lagThreshold" value "ten": not an integer (a whole number such as 10)',
          'ScaledObject orders, kafka trigger: parameter "offsetResetPolicy" value "newest" must be one of [latest earliest]',
        ]);
      },
    ],
    [
      "lagThreshold 0",
      { bootstrapServers: "k:9092", consumerGroup: "g", lagThreshold: "0" },
      (r) =>
        assert.deepEqual(r, {
          ok: false,
          problems: ["ScaledObject orders, kafka trigger: lagThreshold must be above 0"],
        }),
    ],
  ];
  for (const [name, metadata, check] of cases) {
    const so = scaledObject({ triggers: [{ type: "kafka", metadata }] });
    const r = sidecarSettings(so, so.triggers[0]!, {}, defaults, consumer);
    try {
      check(r);
    } catch (err) {
      (err as Error).message = `${name}: ${(err as Error).message}`;
      throw err;
    }
  }
});

test("envSourceContainerName picks the container FromEnv reads", () => {
  const so = scaledObject({
    scaleTargetRef: { name: "orders", envSourceContainerName: "app" },
    triggers: [{ type: "kafka", metadata: { bootstrapServersFromEnv: "B", consumerGroup: "g" } }],
  });
  const containers: V1Container[] = [
    { name: "proxy", env: [{ name: "B", value: "wrong:1" }] },
    { name: "app", env: [{ name: "B", value: "right:9092" }] },
  ];
  const r = sidecarSettings(so, so.triggers[0]!, {}, defaults, containers);
  assert.ok(r.ok);
  assert.deepEqual(r.settings.env, [{ name: "KAFKA_BOOTSTRAP_SERVERS", value: "right:9092" }]);
});

test("the flags' defaults and the pod's tuning go into the settings", () => {
  const so = scaledObject();
  const r = sidecarSettings(
    so,
    so.triggers[0]!,
    { image: "mirror.example.com/sidecar:1", resources: { requests: { cpu: "50m" } } },
    {
      ...defaults,
      bindAddress: "$(POD_IP)",
      reportCa: "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n",
    },
    consumer,
  );
  assert.ok(r.ok);
  assert.equal(r.settings.image, "mirror.example.com/sidecar:1");
  assert.equal(r.settings.bindAddress, "$(POD_IP)");
  assert.equal(r.settings.reportUrl, defaults.reportUrl);
  assert.deepEqual(r.settings.resources, {
    requests: { cpu: "50m", memory: "48Mi" },
    limits: { memory: "96Mi" },
  });
  assert.deepEqual(r.settings.env, [
    { name: "LAGSCALE_REPORT_CA", value: "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n" },
  ]);
});

test("resources merged over the defaults may not put a request above a limit", () => {
  const cases: [string, Parameters<typeof mergedResources>[0], string][] = [
    ["cpu limit only", { limits: { cpu: "1" } }, "ok"],
    ["memory request under the default limit", { requests: { memory: "64Mi" } }, "ok"],
    [
      "memory request above the default limit",
      { requests: { memory: "256Mi" } },
      "the sidecar's memory request 256Mi would be above its memory limit 96Mi (the request is the annotation's, the other the default): set lagscale.io/sidecar-memory-limit too",
    ],
    [
      "memory limit under the default request",
      { limits: { memory: "32Mi" } },
      "the sidecar's memory request 48Mi would be above its memory limit 32Mi (the limit is the annotation's, the other the default): set lagscale.io/sidecar-memory-request too",
    ],
  ];
  for (const [name, given, want] of cases) {
    const r = mergedResources(given);
    assert.equal(r.ok ? "ok" : r.problem, want, name);
  }
});
