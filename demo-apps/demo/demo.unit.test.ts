/** The demo's pure parts: flags, what it changes in the manifests, the ScaledObject, the live view's lines. */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import type { V1Deployment } from "@kubernetes/client-node";
import type { Admin } from "kafkajs";
import { repoRoot } from "../../test/stack/paths.js";
import { DEFAULTS, parseArgs } from "./args.js";
import { renderControllerInstall } from "../../test/stack/lagscale/install.js";
import { deleteGroup } from "./kafka.js";
import { age, formatTable, interesting, loopbackEndpointWarning } from "./kube.js";
import {
  forLocalStack,
  loadManifests,
  scaledObject,
  sourceImagePatch,
  startingAtZero,
  withSidecarOptOut,
} from "./manifests.js";
import { eventLine, HEADER, reportedPods, sampleLine, Tracker, type Sample } from "./view.js";

test("flags: defaults, both spellings, and errors that name the flag", () => {
  assert.deepEqual(parseArgs([]), DEFAULTS);
  assert.equal(DEFAULTS.count, 100, "the talk's request writes 100 messages");
  assert.deepEqual(parseArgs(["--count", "250", "--timeout=60", "--keep"]), {
    ...DEFAULTS,
    count: 250,
    timeoutSeconds: 60,
    keep: true,
  });
  assert.equal(parseArgs(["--no-controller"]).noController, true);
  assert.equal(DEFAULTS.noSidecar, false, "the sidecar runs unless asked not to");
  assert.deepEqual(parseArgs(["--no-sidecar"]), { ...DEFAULTS, noSidecar: true });
  assert.throws(() => parseArgs(["--no-sidecar=1"]), /--no-sidecar takes no value/);
  assert.equal(parseArgs(["-h"]).help, true);
  assert.throws(() => parseArgs(["--count"]), /--count needs a value/);
  assert.throws(() => parseArgs(["--count", "--keep"]), /--count needs a value/);
  assert.throws(() => parseArgs(["--count", "1e3"]), /--count "1e3": expected a whole number/);
  assert.throws(() => parseArgs(["--count", "0"]), /expected 1 to 100000/);
  assert.throws(() => parseArgs(["--count=100001"]), /expected 1 to 100000/);
  assert.throws(() => parseArgs(["--keep=yes"]), /--keep takes no value/);
  assert.throws(() => parseArgs(["--cont", "5"]), /unknown argument "--cont"/);
});

const manifests = () => loadManifests(path.join(repoRoot, "demo-apps", "manifests"));

test("manifests: namespace, producer, Service, consumer; no topic Job", () => {
  const objects = manifests();
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata?.name}`),
    [
      "Namespace/keda-demo",
      "Deployment/kafka-producer",
      "Service/kafka-producer-service",
      "Deployment/kafka-consumer",
    ],
  );
});

test("forLocalStack: brokers rewritten everywhere, the producer bound to its pod IP, originals untouched", () => {
  const original = manifests();
  const before = JSON.stringify(original);
  const local = forLocalStack(original, ["127.0.0.1:9092", "127.0.0.1:9093"]);
  assert.equal(JSON.stringify(original), before, "the input is not changed");
  const deployments = local.filter((o): o is V1Deployment => o.kind === "Deployment");
  assert.equal(deployments.length, 2);
  for (const d of deployments) {
    const env = d.spec?.template.spec?.containers[0]?.env ?? [];
    assert.equal(env.find((e) => e.name === "KAFKA_BROKER")?.value, "127.0.0.1:9092,127.0.0.1:9093");
  }
  const producerEnv = deployments[0]?.spec?.template.spec?.containers[0]?.env ?? [];
  const names = producerEnv.map((e) => e.name);
  assert.equal(producerEnv.find((e) => e.name === "BIND_ADDRESS")?.value, "$(POD_IP):5550");
  assert.ok(names.indexOf("POD_IP") < names.indexOf("BIND_ADDRESS"), "POD_IP is defined before it is used");
  assert.equal(producerEnv.find((e) => e.name === "POD_IP")?.valueFrom?.fieldRef?.fieldPath, "status.podIP");
  const consumerEnv = deployments[1]?.spec?.template.spec?.containers[0]?.env ?? [];
  assert.equal(consumerEnv.filter((e) => e.name === "POD_IP").length, 1, "the consumer keeps its one POD_IP");
  assert.equal(consumerEnv.find((e) => e.name === "SLEEP")?.value, "3");
});

test("sourceImagePatch: the demo images map to their sources on lagscale.local/node", () => {
  const [, producer, , consumer] = manifests() as V1Deployment[];
  assert.deepEqual(sourceImagePatch(producer!), {
    image: "lagscale.local/node",
    args: ["demo-apps/producer/src/main.ts"],
  });
  assert.deepEqual(sourceImagePatch(consumer!), {
    image: "lagscale.local/node",
    args: ["demo-apps/consumer/src/main.ts"],
  });
});

test("the talk's ScaledObject from demo-apps/manifests, with lagscale's apiVersion and the given brokers", () => {
  const so = scaledObject(path.join(repoRoot, "demo-apps", "manifests"), ["127.0.0.1:9092"]);
  assert.equal(so.apiVersion, "lagscale.io/v1alpha1");
  assert.deepEqual(so.spec, {
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
          bootstrapServers: "127.0.0.1:9092",
          consumerGroup: "g1",
          topic: "my-topic",
          lagThreshold: "10",
          offsetResetPolicy: "latest",
          allowIdleConsumers: "false",
          version: "1.0.0",
        },
      },
    ],
  });
});

test("the consumer opts in to the sidecar in its manifest, starts at 0, and --no-sidecar opts it out", () => {
  const local = forLocalStack(manifests(), ["127.0.0.1:9092"]);
  const consumerOf = (objs: readonly unknown[]) =>
    (objs as V1Deployment[]).find((o) => o.kind === "Deployment" && o.metadata?.name === "kafka-consumer")!;
  const template = consumerOf(local).spec!.template;
  assert.equal(template.metadata?.labels?.["lagscale.io/inject"], "enabled", "the label the webhook selects");
  assert.equal(template.metadata?.annotations?.["lagscale.io/inject"], "enabled", "the annotation that asks");
  assert.equal(template.spec?.initContainers, undefined, "no sidecar in the manifest: the webhook adds it");

  const before = JSON.stringify(local);
  const zero = startingAtZero(local);
  assert.equal(JSON.stringify(local), before, "the input is not changed");
  assert.equal(consumerOf(zero).spec?.replicas, 0);
  const producer = (zero as V1Deployment[]).find((o) => o.metadata?.name === "kafka-producer")!;
  assert.equal(producer.spec?.replicas, 1, "the producer keeps its replicas");

  const out = withSidecarOptOut(zero);
  assert.equal(consumerOf(out).spec?.template.metadata?.annotations?.["lagscale.io/inject"], "disabled");
  assert.equal(consumerOf(zero).spec?.template.metadata?.annotations?.["lagscale.io/inject"], "enabled");
});

test("lagscale on the stack: two replicas, the webhook Service on every replica, the reports Service on the leader", () => {
  const objects = renderControllerInstall({
    namespace: "lagscale",
    watchNamespaces: ["keda-demo"],
    caPem: "CA",
  });
  const kinds = objects.map((o) => `${o.kind}/${String(o.metadata.name)}`);
  for (const k of [
    "Deployment/lagscale-controller",
    "Service/lagscale-webhook",
    "Service/lagscale-reports",
    "ValidatingWebhookConfiguration/lagscale-validating-lagscale",
    "MutatingWebhookConfiguration/lagscale-mutating-lagscale",
  ]) {
    assert.ok(kinds.includes(k), k);
  }
  const deployment = objects.find((o) => o.kind === "Deployment") as unknown as V1Deployment;
  assert.equal(deployment.spec?.replicas, 2);
  const args = deployment.spec?.template.spec?.containers[0]?.args ?? [];
  for (const a of ["--leader-elect=true", "--webhooks=on", "--reports=https", "--bind-address=$(POD_IP)"]) {
    assert.ok(args.includes(a), a);
  }
  const reports = objects.find((o) => o.metadata.name === "lagscale-reports") as unknown as {
    spec: { selector: Record<string, string> };
  };
  assert.equal(reports.spec.selector["lagscale.io/leader"], "true");
  const polling = renderControllerInstall({
    namespace: "lagscale",
    watchNamespaces: ["keda-demo"],
    caPem: "CA",
    pollingOnly: true,
  }).find((o) => o.kind === "Deployment") as unknown as V1Deployment;
  const pollingArgs = polling.spec?.template.spec?.containers[0]?.args ?? [];
  for (const a of ["--reports=off", "--end-offset-watch-interval=0"]) assert.ok(pollingArgs.includes(a), a);
  assert.ok(!pollingArgs.includes("--reports=https"));
});

test("reportedPods: each pod's state and lag for the demo's ScaledObject, from the controller's /metrics", () => {
  const text = [
    "# HELP lagscale_report_pod_state ...",
    'lagscale_report_pod_state{scaledobject="keda-demo/kafka-scaledobject",pod="kafka-consumer-7d-bbbbb",state="busy"} 0',
    'lagscale_report_pod_state{scaledobject="keda-demo/kafka-scaledobject",pod="kafka-consumer-7d-bbbbb",state="stalled"} 1',
    'lagscale_report_pod_state{scaledobject="keda-demo/kafka-scaledobject",pod="kafka-consumer-7d-aaaaa",state="busy"} 1',
    'lagscale_report_pod_lag{scaledobject="keda-demo/kafka-scaledobject",pod="kafka-consumer-7d-aaaaa"} 12',
    'lagscale_report_pod_state{scaledobject="other/so",pod="x-1",state="idle"} 1',
  ].join("\n");
  const pods = reportedPods(text, "keda-demo/kafka-scaledobject");
  assert.deepEqual(pods, [
    { pod: "kafka-consumer-7d-aaaaa", state: "busy", lag: 12 },
    { pod: "kafka-consumer-7d-bbbbb", state: "stalled", lag: undefined },
  ]);
  const line = sampleLine(new Date("2026-01-02T03:04:05Z"), sample({ reported: pods }));
  assert.ok(line.endsWith("  aaaaa:busy(12) bbbbb:stalled"), line);
  assert.ok(line.indexOf("aaaaa") > HEADER.length, "after the columns of the polling-only view");
  assert.match(sampleLine(new Date(), sample({ reported: [] })), /no reports$/);
  assert.doesNotMatch(sampleLine(new Date(), sample({})), /reports/, "polling only: no column");
});

const sample = (over: Partial<Sample>): Sample => ({
  sinceRequestMs: 0,
  desired: 1,
  ready: 1,
  pods: 1,
  lags: [],
  active: "True",
  ...over,
});

test("a live-view line: replicas, pods in transit, total and per-partition lag, uncommitted marked", () => {
  const line = sampleLine(
    new Date("2026-01-02T03:04:05Z"),
    sample({
      sinceRequestMs: 12_400,
      desired: 5,
      ready: 3,
      pods: 5,
      lags: [
        { partition: 0, lag: 19, committed: true },
        { partition: 1, lag: 20, committed: false },
      ],
    }),
  );
  assert.match(line, /^03:04:05 +\+12s {2}5\/3 \(5 pods\) +39 {2}\[ +19 +20\* \] +True$/);
  assert.match(
    sampleLine(new Date(), sample({ lags: undefined, active: undefined })),
    /\?.*\[lag unreadable\].*-$/,
  );
});

test("Tracker: peak, time to 5, lag at 0, back to 0 only after having scaled", () => {
  const t = new Tracker(5);
  const lag = (n: number) => [{ partition: 0, lag: n, committed: true }];
  t.add(sample({ sinceRequestMs: 1_000, desired: 1, ready: 1, pods: 1, lags: lag(100) }));
  assert.equal(t.done(true), false);
  t.add(sample({ sinceRequestMs: 11_000, desired: 5, ready: 2, pods: 5, lags: lag(90) }));
  t.add(sample({ sinceRequestMs: 14_000, desired: 5, ready: 5, pods: 5, lags: lag(80) }));
  t.add(sample({ sinceRequestMs: 80_000, desired: 5, ready: 5, pods: 5, lags: lag(0) }));
  assert.equal(t.done(false), true, "without autoscaling, lag 0 ends the view");
  assert.equal(t.done(true), false);
  t.add(sample({ sinceRequestMs: 110_000, desired: 0, ready: 0, pods: 2, lags: lag(0) }));
  assert.equal(t.done(true), false, "pods still stopping");
  t.add(sample({ sinceRequestMs: 112_000, desired: 0, ready: 0, pods: 0, lags: lag(0) }));
  assert.equal(t.done(true), true);
  assert.deepEqual(t.summary(true, 100), [
    "messages: 100; peak consumer replicas: 5 desired, 5 ready",
    "desired 5: 11 s after the request; 5 ready: 14 s after the request",
    "lag back to 0: 80 s after the request",
    "consumer back to 0 pods: 112 s after the request",
  ]);
  assert.match(t.summary(false, 100).at(-1) ?? "", /autoscaling was NOT running/);
});

test("events: loopback EndpointSlice warnings hidden, the autoscaler's and warnings shown", () => {
  const ev = (kind: string, reason: string, message: string, type = "Normal") => ({
    kind,
    name: "x",
    reason,
    message,
    type,
    count: 1,
  });
  assert.equal(
    interesting(
      ev(
        "Service",
        "FailedToUpdateEndpointSlices",
        'addresses[0]: Invalid value: "127.1.0.1": may not be in the loopback range',
        "Warning",
      ),
    ),
    false,
  );
  assert.equal(
    loopbackEndpointWarning(ev("Endpoints", "FailedToUpdateEndpoint", "loopback range", "Warning")),
    true,
  );
  assert.equal(interesting(ev("ScaledObject", "SuccessfulRescale", "New size: 5")), true);
  assert.equal(interesting(ev("ReplicaSet", "SuccessfulCreate", "Created pod")), false);
  assert.equal(interesting(ev("Pod", "BackOff", "Back-off", "Warning")), true);
  assert.equal(
    eventLine({ ...ev("Deployment", "ScalingReplicaSet", "Scaled up to 5 "), count: 3 }),
    "          event: Deployment/x ScalingReplicaSet: Scaled up to 5 (x3)",
  );
});

test("kubectl-style table: priority-0 columns, <none> for empty cells, ages", () => {
  const now = new Date("2026-01-01T00:10:00Z");
  assert.equal(age(new Date("2026-01-01T00:09:15Z"), now), "45s");
  assert.equal(age(new Date("2026-01-01T00:05:00Z"), now), "5m0s");
  const lines = formatTable(
    {
      columnDefinitions: [
        { name: "Name", type: "string" },
        { name: "Ready", type: "string" },
        { name: "Hidden", type: "string", priority: 1 },
        { name: "Age", type: "date" },
      ],
      rows: [{ cells: ["kafka-scaledobject", "", "x", "3s"] }],
    },
    now,
  );
  assert.deepEqual(lines, ["NAME                 READY    AGE", "kafka-scaledobject   <none>   3s"]);
});

// A stand-in admin (failure injection a real broker gives only by chance: right after it starts).
function adminFailingWith(types: string[]): { admin: Admin; calls: () => number } {
  let calls = 0;
  const admin = {
    deleteGroups: async (groups: string[]) => {
      const type = types[calls++];
      if (type === undefined) return groups.map((groupId) => ({ groupId, errorCode: 0 }));
      throw Object.assign(new Error(type), { groups: [{ groupId: groups[0], error: { type } }] });
    },
  } as unknown as Admin;
  return { admin, calls: () => calls };
}

test("deleteGroup waits out a coordinator still loading, accepts a missing group, refuses a group with members", async () => {
  const loading = adminFailingWith(["GROUP_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE"]);
  await deleteGroup(loading.admin, "g1");
  assert.equal(loading.calls(), 3);
  const missing = adminFailingWith(["GROUP_ID_NOT_FOUND"]);
  await deleteGroup(missing.admin, "g1");
  assert.equal(missing.calls(), 1);
  await assert.rejects(deleteGroup(adminFailingWith(["NON_EMPTY_GROUP"]).admin, "g1"), /still has members/);
  await assert.rejects(deleteGroup(adminFailingWith(["INVALID_GROUP_ID"]).admin, "g1"), /INVALID_GROUP_ID/);
});
