// The lookups are fakes (test/support/inject.ts): these tests are about the decision; the real API server
// answers in test/controller/inject-webhook.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import {
  applyAddPatch,
  consumerPod,
  FakeLookups,
  injectOptions,
  NS,
  review,
  scaledObject,
} from "../../test/support/inject.js";
import type { AdmissionRequest } from "../webhook/admission.js";
import { decideInjection, podOf, type InjectOutcome } from "./decide.js";
import { SIDECAR_CONTAINER } from "./sidecar.js";

function requestFor(pod: unknown, over: Record<string, unknown> = {}): AdmissionRequest {
  return review(pod, over)["request"] as AdmissionRequest;
}

async function decide(pod: unknown, lookups = new FakeLookups(), over: Record<string, unknown> = {}) {
  return decideInjection(requestFor(pod, over), injectOptions(lookups));
}

test("an opted-in pod of a Deployment with a ScaledObject gets the sidecar, with its settings", async () => {
  const out = await decide(consumerPod());
  assert.equal(out.result, "injected");
  assert.equal(out.scaledObject, "orders");
  const pod = applyAddPatch(consumerPod(), out.patch!);
  const sidecar = pod.spec!.initContainers!.find((c) => c.name === SIDECAR_CONTAINER)!;
  const env = new Map(sidecar.env!.map((e) => [e.name, e.value]));
  assert.equal(env.get("LAGSCALE_SCALED_OBJECT"), "orders");
  assert.equal(env.get("KAFKA_BOOTSTRAP_SERVERS"), "kafka:9092");
  assert.equal(env.get("LAGSCALE_CONSUMER_GROUP"), "orders");
  assert.equal(env.get("LAGSCALE_TOPIC"), "orders");
  assert.equal(env.get("LAGSCALE_LAG_THRESHOLD"), "50");
  assert.equal(env.get("LAGSCALE_REPORT_URL"), "https://lagscale-reports.lagscale.svc:9444/v1/reports");
  assert.equal(sidecar.image, "lagscale/sidecar:0.1.0");
  assert.deepEqual(out.owner, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "orders", namespace: NS, uid: "deploy-uid" },
  });
});

test("idempotent: the patched pod, sent again (reinvocation), is admitted unchanged", async () => {
  const first = await decide(consumerPod());
  const patched = applyAddPatch(consumerPod(), first.patch!);
  const lookups = new FakeLookups();
  const second = await decide(patched, lookups);
  assert.deepEqual(second, { result: "already-injected", namespace: NS, pod: "orders-7d9f-*" });
  assert.equal(lookups.calls, 0, "no lookup for a pod that has the sidecar");
});

test("what is not a pod CREATE to inject is admitted unchanged without a lookup", async () => {
  const pod = consumerPod();
  const cases: [string, unknown, Record<string, unknown>, InjectOutcome["result"]][] = [
    ["DELETE", pod, { operation: "DELETE" }, "ignored"],
    ["UPDATE", pod, { operation: "UPDATE" }, "ignored"],
    ["dry run", pod, { dryRun: true }, "ignored"],
    ["a Deployment", pod, { kind: { group: "apps", version: "v1", kind: "Deployment" } }, "ignored"],
    ["a pod subresource", pod, { subResource: "ephemeralcontainers" }, "ignored"],
    ["kube-system", pod, { namespace: "kube-system" }, "ignored"],
    ["lagscale's own namespace", pod, { namespace: "lagscale" }, "ignored"],
    ["a pod without spec", { metadata: {} }, {}, "ignored"],
    ["containers not a list", { spec: { containers: {} } }, {}, "ignored"],
    ["not opted in", consumerPod({ labels: { "lagscale.io/inject": "no" } }), {}, "not-requested"],
    ["opted out", consumerPod({ annotations: { "lagscale.io/inject": "disabled" } }), {}, "disabled"],
  ];
  for (const [name, object, over, result] of cases) {
    const lookups = new FakeLookups();
    const out = await decide(object, lookups, over);
    assert.equal(out.result, result, name);
    assert.equal(out.patch, undefined, name);
    assert.equal(lookups.calls, 0, `${name}: no lookup`);
  }
});

test("each reason to skip: no patch, the problem, and the owner the Event goes on", async () => {
  const cases: [string, V1Pod, (l: FakeLookups) => void, InjectOutcome["result"], RegExp][] = [
    [
      "an invalid opt-in value",
      consumerPod({ annotations: { "lagscale.io/inject": "yes" } }),
      () => undefined,
      "invalid-annotation",
      /lagscale.io\/inject="yes": must be enabled or disabled/,
    ],
    [
      "a bad tuning value",
      consumerPod({ annotations: { "lagscale.io/sidecar-memory-limit": "lots" } }),
      () => undefined,
      "invalid-annotation",
      /lagscale.io\/sidecar-memory-limit="lots"/,
    ],
    [
      "no ScaledObject",
      consumerPod(),
      (l) => (l.scaledObjects = []),
      "skipped",
      /no ScaledObject targets Deployment orders/,
    ],
    [
      "a cron-only ScaledObject",
      consumerPod(),
      (l) => (l.scaledObjects = [scaledObject({ triggers: [{ type: "cron", metadata: {} }] })]),
      "skipped",
      /has no kafka trigger/,
    ],
    [
      "a TriggerAuthentication that does not exist",
      consumerPod(),
      (l) =>
        (l.scaledObjects = [
          scaledObject({
            triggers: [
              {
                type: "kafka",
                metadata: { bootstrapServers: "k:9092", consumerGroup: "g" },
                authenticationRef: { name: "gone" },
              },
            ],
          }),
        ]),
      "skipped",
      /TriggerAuthentication shop\/gone \(the trigger's authenticationRef\) does not exist/,
    ],
    [
      "a ClusterTriggerAuthentication's Secret in lagscale's namespace",
      consumerPod(),
      (l) => {
        l.auths.set("cluster/shared", {
          secretTargetRef: [{ parameter: "password", name: "kafka", key: "pw" }],
        });
        l.scaledObjects = [
          scaledObject({
            triggers: [
              {
                type: "kafka",
                metadata: { bootstrapServers: "k:9092", consumerGroup: "g", sasl: "plaintext" },
                authenticationRef: { name: "shared", kind: "ClusterTriggerAuthentication" },
              },
            ],
          }),
        ];
      },
      "skipped",
      /Secret lagscale\/kafka is in another namespace than the pod \(shop\)/,
    ],
    [
      "the token volume's name taken",
      (() => {
        const p = consumerPod();
        p.spec!.volumes = [{ name: "lagscale-reports-token", emptyDir: {} }];
        return p;
      })(),
      () => undefined,
      "skipped",
      /already has a volume named lagscale-reports-token/,
    ],
  ];
  for (const [name, pod, setup, result, problem] of cases) {
    const lookups = new FakeLookups();
    setup(lookups);
    const out = await decide(pod, lookups);
    assert.equal(out.result, result, name);
    assert.equal(out.patch, undefined, name);
    assert.match(out.problems?.join("\n") ?? "", problem, name);
    assert.equal(out.owner?.kind, "Deployment", `${name}: the Event goes on the Deployment`);
  }
});

test("the owner: Deployment through the ReplicaSet, a StatefulSet, a bare ReplicaSet, a bare pod", async () => {
  const withOwner = (ref: object | undefined): V1Pod => {
    const p = consumerPod();
    p.metadata!.ownerReferences = ref ? [{ ...ref, controller: true } as never] : [];
    return p;
  };
  const cases: [string, V1Pod, (l: FakeLookups) => void, string, string | undefined][] = [
    ["Deployment", consumerPod(), () => undefined, "injected", "Deployment/orders"],
    [
      "StatefulSet",
      withOwner({ apiVersion: "apps/v1", kind: "StatefulSet", name: "orders", uid: "u" }),
      (l) => (l.scaledObjects = [scaledObject({ scaleTargetRef: { kind: "StatefulSet", name: "orders" } })]),
      "injected",
      "StatefulSet/orders",
    ],
    [
      "a ReplicaSet without a Deployment (its own target)",
      consumerPod(),
      (l) => {
        l.replicaSets.set("orders-7d9f", undefined);
        l.scaledObjects = [scaledObject({ scaleTargetRef: { kind: "ReplicaSet", name: "orders-7d9f" } })];
      },
      "injected",
      "ReplicaSet/orders-7d9f",
    ],
    ["a bare pod without the annotation", withOwner(undefined), () => undefined, "skipped", undefined],
  ];
  for (const [name, pod, setup, result, owner] of cases) {
    const lookups = new FakeLookups();
    setup(lookups);
    const out = await decide(pod, lookups);
    assert.equal(out.result, result, name);
    assert.equal(out.owner ? `${out.owner.kind}/${out.owner.metadata!.name}` : undefined, owner, name);
  }
  const bare = withOwner(undefined);
  bare.metadata!.annotations = { "lagscale.io/scaled-object": "orders" };
  assert.equal((await decide(bare)).result, "injected", "a bare pod that names its ScaledObject");
});

test("the API server unreachable or hanging: admitted without the sidecar, quickly", async () => {
  const failing = new FakeLookups();
  failing.fail = new Error("connect ECONNREFUSED 10.0.0.1:443");
  const out = await decide(consumerPod(), failing);
  assert.equal(out.result, "lookup-failed");
  assert.match(out.problems![0]!, /ECONNREFUSED/);
  assert.equal(out.patch, undefined);

  const hanging = new FakeLookups();
  hanging.hang = true;
  const hung = await decideInjection(
    requestFor(consumerPod()),
    injectOptions(hanging, { lookupTimeoutMs: 50 }),
  );
  assert.equal(hung.result, "lookup-failed");
  assert.match(hung.problems![0]!, /took longer than 50 ms/);

  // One deadline for all lookups: three answers of 60 ms each overrun 150 ms together, though none alone does.
  const slow = new FakeLookups();
  slow.delayMs = 60;
  slow.auths.set("shop/kafka-auth", {});
  slow.scaledObjects = [
    scaledObject({
      triggers: [
        {
          type: "kafka",
          metadata: { bootstrapServers: "k:9092", consumerGroup: "g" },
          authenticationRef: { name: "kafka-auth" },
        },
      ],
    }),
  ];
  const late = await decideInjection(
    requestFor(consumerPod()),
    injectOptions(slow, { lookupTimeoutMs: 150 }),
  );
  assert.equal(late.result, "lookup-failed");
  assert.equal(slow.calls, 3);
});

test("podOf keeps string labels and annotations only, and refuses shapes the patch cannot extend", () => {
  const cases: [string, unknown, boolean][] = [
    ["a pod", consumerPod(), true],
    ["null", null, false],
    ["an array", [], false],
    ["spec a string", { spec: "x" }, false],
    ["a container without a name", { spec: { containers: [{}] } }, false],
    ["volumes an object", { spec: { containers: [], volumes: {} } }, false],
    ["annotations a list", { metadata: { annotations: [] }, spec: { containers: [] } }, false],
  ];
  for (const [name, obj, ok] of cases) assert.equal(podOf(obj) !== undefined, ok, name);
  const p = podOf({ metadata: { labels: { a: "b", n: 1 } }, spec: { containers: [] } });
  assert.deepEqual(p?.metadata?.labels, { a: "b" });
});
