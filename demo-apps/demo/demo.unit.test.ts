/** The demo's pure parts: flags, what it changes in the manifests, the ScaledObject, the live view's lines. */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import type { V1Deployment } from "@kubernetes/client-node";
import type { Admin } from "kafkajs";
import { repoRoot } from "../../test/stack/paths.js";
import { DEFAULTS, parseArgs } from "./args.js";
import { controllerArgs } from "./controller.js";
import { deleteGroup } from "./kafka.js";
import { age, formatTable, interesting, loopbackEndpointWarning } from "./kube.js";
import { REPORTS_AUDIENCE } from "../../controller/reports/auth.js";
import {
  forLocalStack,
  loadManifests,
  localTokenFile,
  scaledObject,
  sourceImagePatch,
  withDemoSidecar,
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

test("the talk's ScaledObject, with lagscale's apiVersion and the given brokers", () => {
  const so = scaledObject(["127.0.0.1:9092"]);
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

test("withDemoSidecar: the consumer alone gets the sidecar, configured from the trigger, bound to its pod IP", () => {
  const local = forLocalStack(manifests(), ["127.0.0.1:9092"]);
  const before = JSON.stringify(local);
  const out = withDemoSidecar(local, ["127.0.0.1:9092"], "http://127.0.0.1:4444/v1/reports");
  assert.equal(JSON.stringify(local), before, "the input is not changed");
  const [, producer, , consumer] = out as V1Deployment[];
  assert.equal(JSON.stringify(producer), JSON.stringify(local[1]), "the producer is untouched");
  const spec = consumer?.spec?.template.spec;
  assert.deepEqual(
    spec?.containers.map((c) => c.name),
    ["kafka-consumer"],
    "the consumer container is as it was",
  );
  const sidecar = spec?.initContainers?.find((c) => c.name === "lagscale-sidecar");
  assert.equal(sidecar?.image, "lagscale/sidecar:dev");
  assert.equal(sidecar?.restartPolicy, "Always", "a native sidecar");
  const env = Object.fromEntries(
    (sidecar?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]),
  );
  assert.deepEqual(
    [
      env.LAGSCALE_SCALED_OBJECT,
      env.KAFKA_BOOTSTRAP_SERVERS,
      env.LAGSCALE_CONSUMER_GROUP,
      env.LAGSCALE_TOPIC,
      env.LAGSCALE_LAG_THRESHOLD,
      env.LAGSCALE_OFFSET_RESET_POLICY,
      env.LAGSCALE_REPORT_URL,
      env.LAGSCALE_BIND_ADDRESS,
      env.POD_IP,
    ],
    [
      "kafka-scaledobject",
      "127.0.0.1:9092",
      "g1",
      "my-topic",
      "10",
      "latest",
      "http://127.0.0.1:4444/v1/reports",
      "$(POD_IP)",
      "status.podIP",
    ],
  );
  const names = (sidecar?.env ?? []).map((e) => e.name);
  assert.ok(
    names.indexOf("POD_IP") < names.indexOf("LAGSCALE_BIND_ADDRESS"),
    "POD_IP is defined before it is used",
  );
  const token = spec?.volumes?.find((v) => v.name === "lagscale-reports-token");
  assert.equal(token?.projected?.sources?.[0]?.serviceAccountToken?.audience, REPORTS_AUDIENCE);
  assert.equal(env.LAGSCALE_TOKEN_FILE, "/var/run/secrets/lagscale/token", "the mount path by default");

  const local2 = withDemoSidecar(local, ["b:1"], "http://r", localTokenFile("/s"))[3] as V1Deployment;
  const env2 = local2.spec?.template.spec?.initContainers?.[0]?.env ?? [];
  const files = env2.filter((e) => e.name === "LAGSCALE_TOKEN_FILE").map((e) => e.value);
  assert.deepEqual(
    files,
    ["/s/pods/$(POD_NAMESPACE)/$(POD_NAME)/volumes/lagscale-reports-token/token"],
    "on the local stack: the pod runner's file, named after the pod, defined once (server-side apply refuses twice)",
  );
  const names2 = env2.map((e) => e.name);
  assert.ok(names2.indexOf("POD_NAME") < names2.indexOf("LAGSCALE_TOKEN_FILE"), "POD_NAME is defined first");
});

test("the controller watches only the demo's namespace, without leader election, webhooks or fixed ports", () => {
  const args = controllerArgs("/k", "keda-demo");
  for (const a of ["--leader-elect=false", "--webhooks=off", "--metrics-port=0", "--health-port=0"]) {
    assert.ok(args.includes(a), a);
  }
  assert.equal(args[args.indexOf("--watch-namespace") + 1], "keda-demo");
});

test("the controller with the sidecar: receiver in plain HTTP, watch at its default; without: today's polling only", () => {
  const withReports = controllerArgs("/k", "keda-demo", { metricsPort: 4001, reportsPort: 4002 });
  for (const a of ["--metrics-port=4001", "--reports=http", "--reports-port=4002"]) {
    assert.ok(withReports.includes(a), a);
  }
  assert.ok(
    !withReports.some((a) => a.startsWith("--end-offset-watch-interval")),
    "the watch at its default",
  );
  const polling = controllerArgs("/k", "keda-demo", { metricsPort: 4001 });
  for (const a of ["--metrics-port=4001", "--reports=off", "--end-offset-watch-interval=0"]) {
    assert.ok(polling.includes(a), a);
  }
  assert.ok(!polling.some((a) => a.startsWith("--reports-port")));
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
