/**
 * Hostile and malformed AdmissionReviews against `/mutate-pod` of the real webhook HTTPS server (in-process,
 * fake lookups: the subject is the handler, not the API server): wrong kinds, huge bodies, missing fields,
 * wrong types, and hundreds of random mutations of a valid review (seeded, so a failure repeats). Each
 * must get an answer (200 with an AdmissionReview that admits the pod, 400 or 413), never a crash, and a
 * patch, when there is one, must apply to the pod that was sent. The counts by status are printed.
 */
import assert from "node:assert/strict";
import { Agent, request } from "node:https";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { createLogger } from "../../core/log.js";
import { applyAddPatch, consumerPod, FakeLookups, injectOptions, review } from "../../test/support/inject.js";
import { testCertificate } from "../../test/support/raw-http.js";
import { MAX_BODY_BYTES } from "./admission.js";
import type { WebhookLookups } from "./lookups.js";
import { MUTATE_POD_PATH, startWebhookServer, type WebhookServer } from "./server.js";

const validating: WebhookLookups = {
  listScaledObjects: () => Promise.resolve([]),
  listHorizontalPodAutoscalers: () => Promise.resolve([]),
  findTarget: () => Promise.resolve("found"),
};

/** mulberry32: a small seeded generator, so that a failing case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function randomValue(r: () => number): Json {
  const choices: (() => Json)[] = [
    () => null,
    () => r() < 0.5,
    () => Math.floor(r() * 2 ** 40) - 2 ** 39,
    () => 1e308 * 10 * (r() < 0.5 ? 1 : -1) || 0,
    () => "",
    () => "x".repeat(Math.floor(r() * 5000)),
    () => "\u0000\u202e🙂",
    () => "enabled",
    () => [],
    () => [null, 1, "a"],
    () => ({}),
    () => ({ name: 1 }),
    () => ({ __proto__: { polluted: true } }) as Json,
  ];
  return choices[Math.floor(r() * choices.length)]!();
}

/** Every path (as keys) inside a JSON value. */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

/** The review with one to three random changes: a value replaced, a key deleted, or a key added. */
function mutated(base: Json, r: () => number): Json {
  const doc = structuredClone(base);
  const changes = 1 + Math.floor(r() * 3);
  for (let n = 0; n < changes; n++) {
    const all = paths(doc).filter((p) => p.length > 0);
    const path = all[Math.floor(r() * all.length)]!;
    let parent = doc as Record<string | number, Json>;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
    const key = path.at(-1)!;
    const what = r();
    if (what < 0.6) parent[key] = randomValue(r);
    else if (what < 0.85 && !Array.isArray(parent)) Reflect.deleteProperty(parent, key);
    else if (parent[key] && typeof parent[key] === "object" && !Array.isArray(parent[key])) {
      (parent[key] as Record<string, Json>)[
        ["uid", "kind", "spec", "metadata", "annotations", "x"][Math.floor(r() * 6)]!
      ] = randomValue(r);
    }
  }
  return doc;
}

describe("/mutate-pod under hostile AdmissionReviews (real HTTPS server, fake lookups)", () => {
  let cert: Awaited<ReturnType<typeof testCertificate>>;
  let server: WebhookServer;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const lookups = new FakeLookups();

  const send = (body: string | Buffer): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: server.port,
          path: MUTATE_POD_PATH,
          method: "POST",
          headers: { "content-type": "application/json" },
          ca: cert.tls.ca,
          servername: cert.tls.servername,
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  /** The answer is 200/400/413; a 200 admits, echoes the uid, and any patch applies to what was sent. */
  function check(name: string, sent: unknown, reply: { status: number; body: string }): void {
    assert.ok(
      [200, 400, 413].includes(reply.status),
      `${name}: status ${reply.status} ${reply.body.slice(0, 200)}`,
    );
    if (reply.status !== 200) return;
    const res = (JSON.parse(reply.body) as { response: { uid: unknown; allowed: unknown; patch?: string } })
      .response;
    assert.equal(res.allowed, true, `${name}: a pod is never refused`);
    const uid = (sent as { request: { uid: unknown } }).request.uid;
    assert.equal(res.uid, uid, `${name}: the uid is echoed`);
    if (res.patch !== undefined) {
      const ops = JSON.parse(Buffer.from(res.patch, "base64").toString()) as {
        op: string;
        path: string;
        value: unknown;
      }[];
      applyAddPatch((sent as { request: { object: unknown } }).request.object, ops);
    }
  }

  before(async () => {
    cert = await testCertificate("webhook.test");
    server = await startWebhookServer({
      port: 0,
      host: "127.0.0.1",
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      lookups: validating,
      registry: new Registry(),
      logger: createLogger("mutate-hostile", "silent"),
      inject: injectOptions(lookups),
    });
  });

  after(async () => {
    agent.destroy();
    await server?.close();
    cert?.remove();
  });

  it("wrong kinds, missing fields, wrong types and huge bodies each get an answer", async () => {
    const pod = consumerPod();
    const cases: [string, unknown, number[]][] = [
      [
        "a Deployment in a pod review",
        review(pod, { kind: { group: "apps", version: "v1", kind: "Deployment" } }),
        [200],
      ],
      ["a ScaledObject as the object", review({ kind: "ScaledObject", spec: { triggers: [] } }), [200]],
      ["no request", { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }, [400]],
      ["v1beta1", { ...review(pod), apiVersion: "admission.k8s.io/v1beta1" }, [400]],
      ["no uid", review(pod, { uid: undefined }), [400]],
      ["uid a number", review(pod, { uid: 7 }), [400]],
      ["CREATE without object", review(undefined), [400]],
      ["object a string", review("pod"), [400]],
      ["namespace a list", review(pod, { namespace: ["a"] }), [400]],
      ["dryRun a string", review(pod, { dryRun: "yes" }), [400]],
      ["operation a number", review(pod, { operation: 1 }), [400]],
      ["kind a string", review(pod, { kind: "Pod" }), [200]],
      [
        "no namespace anywhere",
        review({ ...pod, metadata: { ...pod.metadata, namespace: undefined } }, { namespace: undefined }),
        [200],
      ],
      ["spec.containers missing", review({ ...pod, spec: {} }), [200]],
      [
        "ownerReferences a string",
        review({ ...pod, metadata: { ...pod.metadata, ownerReferences: "rs" } }),
        [200],
      ],
      [
        "annotations with a number",
        review({ ...pod, metadata: { ...pod.metadata, annotations: { "lagscale.io/inject": 1 } } }),
        [200],
      ],
      [
        "10,000 annotations",
        review({
          ...pod,
          metadata: {
            ...pod.metadata,
            annotations: Object.fromEntries(
              Array.from({ length: 10_000 }, (_, i) => [`lagscale.io/sidecar-x${i}`, "v"]),
            ),
          },
        }),
        [200],
      ],
      [
        "a 2 MiB annotation",
        review(consumerPod({ annotations: { "lagscale.io/sidecar-image": "a".repeat(2 * 1024 * 1024) } })),
        [200],
      ],
      [
        "a body over the limit",
        review(consumerPod({ annotations: { x: "a".repeat(MAX_BODY_BYTES) } })),
        [413],
      ],
    ];
    const counts = new Map<number, number>();
    for (const [name, body, statuses] of cases) {
      const reply = await send(JSON.stringify(body));
      counts.set(reply.status, (counts.get(reply.status) ?? 0) + 1);
      assert.ok(statuses.includes(reply.status), `${name}: got ${reply.status} ${reply.body.slice(0, 200)}`);
      check(name, body, reply);
    }
    console.log(`named cases by status: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`);
  });

  it("500 random mutations of a valid review: an answer each, and the server still injects", async () => {
    const seed = Number(process.env.LAGSCALE_FUZZ_SEED ?? 20261202);
    const r = rng(seed);
    const base = review(consumerPod()) as Json;
    const counts = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      const body = mutated(base, r);
      // A few lookups fail or the ScaledObject is missing, so those paths are fuzzed too.
      lookups.fail = i % 17 === 0 ? new Error("connect ECONNREFUSED") : undefined;
      const reply = await send(JSON.stringify(body));
      check(`seed ${seed} case ${i}: ${JSON.stringify(body).slice(0, 300)}`, body, reply);
      const patched = reply.status === 200 && reply.body.includes('"patch"');
      const key = `${reply.status}${reply.status === 200 ? (patched ? " patched" : " unchanged") : ""}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    lookups.fail = undefined;
    console.log(
      `seed ${seed}, 500 mutated reviews by answer: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`,
    );
    const after = await send(JSON.stringify(review(consumerPod())));
    assert.equal(after.status, 200);
    assert.match(after.body, /"patchType":"JSONPatch"/, "a valid review is still answered with the sidecar");
    assert.ok(
      (counts.get("400") ?? 0) > 0 && (counts.get("200 unchanged") ?? 0) > 0,
      "the mutations reach both the parser and the decision",
    );
  });
});
