/**
 * Hostile input for the admission webhook's reading and checking of requests (admission.ts,
 * validate.ts), without HTTP: any body answers a request or a message, and any request an outcome,
 * within a time and heap budget (test/support/bounded.ts), with the requests of issue 8 by name. The
 * cluster lookups are a fake that finds the target and nothing else; the checks under test are pure.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bounded, boundedAsync } from "../../test/support/bounded.js";
import { parseAdmissionReview, type AdmissionRequest } from "./admission.js";
import type { WebhookLookups } from "./lookups.js";
import { checkScaledJob, checkScaledObject, checkTriggerAuthentication, type Outcome } from "./validate.js";

/** Fake cluster: the target exists, no other ScaledObject or HPA. */
const lookups: WebhookLookups = {
  listScaledObjects: () => Promise.resolve([]),
  listHorizontalPodAutoscalers: () => Promise.resolve([]),
  findTarget: () => Promise.resolve("found"),
};

type Obj = Record<string, unknown>;

function scaledObject(metadata: Obj = {}, triggerMetadata: Obj = {}, type = "kafka"): Obj {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "so", namespace: "ns", ...metadata },
    spec: {
      scaleTargetRef: { name: "consumer" },
      triggers: [
        {
          type,
          metadata:
            type === "kafka"
              ? { bootstrapServers: "k:9092", consumerGroup: "g", topic: "t", ...triggerMetadata }
              : {
                  timezone: "Etc/UTC",
                  start: "0 8 * * *",
                  end: "0 18 * * *",
                  desiredReplicas: "2",
                  ...triggerMetadata,
                },
        },
      ],
    },
  };
}

const request = (object: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  uid: "u",
  operation: "CREATE",
  namespace: "ns",
  object,
  ...extra,
});
const checkSO = (req: AdmissionRequest) =>
  boundedAsync("checkScaledObject", (r) => checkScaledObject(r, { lookups }), req);
const messages = (o: Outcome) => o.problems.map((p) => p.message).join("\n");

/** An object nested `depth` levels deep, built without recursion. */
function nested(depth: number): Obj {
  let o: Obj = {};
  for (let i = 0; i < depth; i++) o = { x: o };
  return o;
}

describe("webhook: the requests of issue 8", () => {
  it("partitionLimitation and cron bombs are refused quickly, naming the parameter", async () => {
    const pl = await checkSO(
      request(scaledObject({}, { partitionLimitation: Array(1200).fill("0-99999").join(",") })),
    );
    assert.match(
      messages(pl),
      /spec\.triggers\[0\]\.metadata\.partitionLimitation: invalid partition limitation: it names more than/,
    );
    const cron = await checkSO(request(scaledObject({}, { start: "0-200000000 * * * *" }, "cron")));
    assert.match(
      messages(cron),
      /spec\.triggers\[0\]\.metadata\.start: error parsing start schedule: minute field: end of range/,
    );
  });

  it("a metadata-only UPDATE setting paused-replicas: banana is refused, as on CREATE", async () => {
    const old = scaledObject();
    const banana = scaledObject({ annotations: { "autoscaling.keda.sh/paused-replicas": "banana" } });
    const created = await checkSO(request(banana));
    const updated = await checkSO(request(banana, { operation: "UPDATE", oldObject: old }));
    for (const o of [created, updated]) {
      assert.deepEqual(
        o.problems.map((p) => p.reason),
        ["invalid-annotations"],
      );
      assert.match(messages(o), /paused-replicas must be a replica count/);
    }
    const sj = bounded(
      "checkScaledJob",
      checkScaledJob,
      request(
        {
          ...scaledJob(),
          metadata: { name: "sj", annotations: { "lagscale.io/paused-replicas": "banana" } },
        },
        { operation: "UPDATE", oldObject: scaledJob() },
      ),
    );
    assert.deepEqual(sj.problems, [], "a ScaledJob reads only `paused`, which takes any value (KEDA)");
  });

  it("an UPDATE that keeps a bad annotation admitted earlier (removing a finalizer) still goes through", async () => {
    const bad = scaledObject({ annotations: { "lagscale.io/paused-replicas": "banana" }, finalizers: ["f"] });
    const without = scaledObject({ annotations: { "lagscale.io/paused-replicas": "banana" } });
    const o = await checkSO(request(without, { operation: "UPDATE", oldObject: bad }));
    assert.deepEqual(o, { problems: [], warnings: [], skipped: true });
  });

  it("objects nested thousands of levels deep are refused on CREATE and UPDATE, never compared recursively", async () => {
    for (const depth of [3_450, 100_000]) {
      const deep = scaledObject({ labels: nested(depth) });
      const created = await checkSO(request(deep));
      assert.match(messages(created), /nested more than 100 levels deep/);
      const updated = await checkSO(request(deep, { operation: "UPDATE", oldObject: deep }));
      assert.match(messages(updated), /nested more than 100 levels deep/);
      const sj = {
        ...scaledJob(),
        spec: { ...(scaledJob()["spec"] as Obj), jobTargetRef: { template: nested(depth) } },
      };
      const job = bounded(
        "checkScaledJob",
        checkScaledJob,
        request(sj, { operation: "UPDATE", oldObject: sj }),
      );
      assert.match(messages(job), /spec\.jobTargetRef\.template.*nested more than 100 levels deep/);
    }
  });

  it("maxReplicaCount 2147483648 and fallback.replicas 1e12 are refused", async () => {
    const so = scaledObject();
    (so["spec"] as Obj)["maxReplicaCount"] = 2147483648;
    (so["spec"] as Obj)["fallback"] = { failureThreshold: 3, replicas: 1e12 };
    const o = await checkSO(request(so));
    assert.match(messages(o), /spec\.maxReplicaCount: must be <= 2147483647 \(a Kubernetes int32\)/);
    assert.match(messages(o), /spec\.fallback\.replicas: must be <= 2147483647/);
  });

  it('tolerance "-0.5" and "1e400" are refused; "50m" is admitted', async () => {
    for (const [tolerance, allowed] of [
      ["-0.5", false],
      ["1e400", false],
      ["50m", true],
    ] as const) {
      const so = scaledObject();
      (so["spec"] as Obj)["advanced"] = {
        horizontalPodAutoscalerConfig: { behavior: { scaleDown: { tolerance } } },
      };
      const o = await checkSO(request(so));
      assert.equal(o.problems.length === 0, allowed, `${tolerance}: ${messages(o)}`);
    }
  });
});

function scaledJob(): Obj {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledJob",
    metadata: { name: "sj", namespace: "ns" },
    spec: {
      jobTargetRef: { template: {} },
      triggers: [{ type: "kafka", metadata: { bootstrapServers: "k:9092", consumerGroup: "g", topic: "t" } }],
    },
  };
}

describe("webhook: the AdmissionReview's own fields", () => {
  it("a uid over 128 characters, a non-string name or namespace and a non-boolean dryRun are 400s", () => {
    const review = (request: Obj) =>
      JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: { uid: "u", operation: "CREATE", object: {}, ...request },
      });
    const cases: [Obj, RegExp][] = [
      [{ uid: "u".repeat(129) }, /uid is longer than 128/],
      [{ name: 7 }, /name is not a string/],
      [{ namespace: { a: 1 } }, /namespace is not a string/],
      [{ dryRun: "true" }, /dryRun is not true or false/],
    ];
    for (const [request, why] of cases) {
      const r = bounded("parseAdmissionReview", parseAdmissionReview, review(request));
      assert.ok(!r.ok, JSON.stringify(request).slice(0, 40));
      assert.match(r.message, why);
    }
    assert.ok(parseAdmissionReview(review({ dryRun: true, name: "so", namespace: "ns" })).ok);
  });
});

describe("webhook: properties", () => {
  it("any body answers an AdmissionReview request or a message", () => {
    const review = (request: unknown) =>
      JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request });
    const bodyArb = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            uid: fc.oneof(fc.string(), fc.jsonValue()),
            operation: fc.oneof(fc.constantFrom("CREATE", "UPDATE", "DELETE", "CONNECT"), fc.jsonValue()),
            object: fc.jsonValue(),
          },
          { requiredKeys: [] },
        )
        .map(review),
    );
    fc.assert(
      fc.property(bodyArb, (body) => {
        const r = bounded("parseAdmissionReview", parseAdmissionReview, body);
        if (!r.ok) assert.ok(r.message.length > 0);
        else assert.equal(typeof r.request.uid, "string");
      }),
      { numRuns: 400 },
    );
  });

  it("any CREATE or UPDATE the reader lets through answers an outcome, for every kind", async () => {
    const mutate = (base: Obj) =>
      fc
        .tuple(
          fc.constantFrom("spec", "metadata", "kind", "apiVersion", "status"),
          fc.jsonValue({ maxDepth: 5 }),
        )
        .map(([k, v]) => ({ ...base, [k]: v }));
    const objectArb = fc.oneof(
      mutate(scaledObject()),
      mutate(scaledJob()),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 4 })),
      fc.constant(
        scaledObject({
          annotations: { "lagscale.io/paused-replicas": "7", "autoscaling.keda.sh/paused": "x" },
        }),
      ),
    );
    const requestArb = fc.record({
      operation: fc.constantFrom("CREATE", "UPDATE"),
      object: objectArb,
      oldObject: fc.option(objectArb, { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const parsed = parseAdmissionReview(
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            request: { uid: "u", ...r },
          }),
        );
        if (!parsed.ok) return;
        const req = parsed.request;
        const outcomes = [
          await checkSO(req),
          bounded("checkScaledJob", checkScaledJob, req),
          bounded(
            "checkTriggerAuthentication",
            (q: AdmissionRequest) => checkTriggerAuthentication(q, "TriggerAuthentication"),
            req,
          ),
        ];
        for (const o of outcomes) for (const p of o.problems) assert.ok(p.reason !== "" && p.message !== "");
      }),
      { numRuns: 250 },
    );
  });
});
