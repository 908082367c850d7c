/**
 * The receiver's steps, one refusal per row. The API server is faked here (TokenReview answers, the target's
 * pods, the leader's ScaledObjects): test/controller/reports-*.test.ts runs the same against the real one.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { TargetPod } from "../kube/index.js";
import { podTokenReview, SAMPLE_NOW, samplePod, sampleReport } from "../../test/support/reports.js";
import { ReportAuthenticator, type TokenReviewStatus } from "./auth.js";
import { TokenBuckets } from "./ratelimit.js";
import { ReportReceiver, type ContextLookup, type LeaderReports } from "./receiver.js";
import { HttpError } from "../../core/http/limits.js";
import type { ReportRequest } from "./server.js";
import { ReportStore } from "./store.js";

const NOW = SAMPLE_NOW;
const podA = samplePod();
const report = sampleReport;
const review = podTokenReview;
const TOKENS: Record<string, TokenReviewStatus> = {
  "tok-a": review("consumer-a", "uid-a"),
  "tok-b": review("consumer-b", "uid-b"),
  "tok-aud": { ...review("consumer-a", "uid-a"), audiences: ["other"] },
};

interface Setup {
  leading?: boolean;
  context?: ContextLookup;
  pods?: TargetPod[];
}

function setup(s: Setup = {}) {
  const evaluated: string[] = [];
  const store = new ReportStore();
  const leader: LeaderReports = {
    context: () =>
      s.context ?? {
        kind: "ok",
        context: {
          currentReplicas: 1,
          maxReplicaCount: 5,
          triggers: [
            {
              name: "s0",
              consumerGroup: "g1",
              topic: "orders",
              lagThreshold: 10,
              activationLagThreshold: 0,
              partitions: 5,
            },
          ],
        },
      },
    targetPods: () => Promise.resolve(s.pods ?? [podA]),
    evaluateNow: (key) => evaluated.push(key),
  };
  const receiver = new ReportReceiver({
    leader: () => (s.leading === false ? undefined : leader),
    authenticator: new ReportAuthenticator({
      reviewer: { review: (t) => Promise.resolve(TOKENS[t] ?? { authenticated: false, error: "invalid" }) },
    }),
    limiter: new TokenBuckets({ ratePerSecond: 5, burst: 3 }),
    store,
    logger: pino({ level: "silent" }),
    now: () => NOW,
  });
  return { receiver, store, evaluated };
}

function req(token: string | undefined, body: unknown): ReportRequest {
  return {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    remoteAddress: "127.1.0.5",
    body: () =>
      body instanceof HttpError
        ? Promise.reject(body)
        : Promise.resolve(Buffer.from(typeof body === "string" ? body : JSON.stringify(body))),
  };
}

describe("ReportReceiver", () => {
  const rows: [string, Setup, ReportRequest, number, RegExp][] = [
    ["not the leader", { leading: false }, req("tok-a", report()), 503, /not the leader/],
    ["no token", {}, req(undefined, report()), 401, /no bearer token/],
    ["a forged token", {}, req("forged", report()), 401, /not accepted/],
    ["a token for another audience", {}, req("tok-aud", report()), 401, /audience/],
    ["not JSON", {}, req("tok-a", "{oops"), 400, /not JSON/],
    ["not a report", {}, req("tok-a", { ...report(), lag: 7 }), 400, /not a valid report/],
    ["another pod's token", {}, req("tok-b", report()), 403, /belongs to pod shop\/consumer-b/],
    [
      "an unknown ScaledObject",
      { context: { kind: "unknown", reason: "no ScaledObject shop/consumer is watched" } },
      req("tok-a", report()),
      403,
      /no ScaledObject/,
    ],
    [
      "a ScaledObject not evaluated yet",
      { context: { kind: "not-ready", reason: "not evaluated yet" } },
      req("tok-a", report()),
      503,
      /not evaluated yet/,
    ],
    [
      "a pod outside the target",
      { pods: [] },
      req("tok-a", report()),
      403,
      /is not a pod of the scale target/,
    ],
    ["another uid", { pods: [{ ...podA, uid: "uid-old" }] }, req("tok-a", report()), 403, /another uid/],
    [
      "a pod not running",
      { pods: [{ ...podA, phase: "Pending" }] },
      req("tok-a", report()),
      403,
      /not running/,
    ],
    ["another IP", { pods: [{ ...podA, ip: "127.1.0.9" }] }, req("tok-a", report()), 403, /has IP 127.1.0.9/],
  ];
  for (const [name, s, r, status, reason] of rows) {
    it(`${status}: ${name}`, async () => {
      const { receiver, store } = setup(s);
      const reply = await receiver.handle(r);
      assert.equal(reply.status, status, JSON.stringify(reply.body));
      assert.match(JSON.stringify(reply.body), reason);
      assert.equal(store.list("shop/consumer", NOW).length, 0, "nothing kept");
    });
  }

  it("413 comes through from the body reader", async () => {
    const { receiver } = setup();
    const tooLarge = new HttpError(413, "the body is larger than 10 bytes", true);
    await assert.rejects(receiver.handle(req("tok-a", tooLarge)), (err) => err === tooLarge);
  });

  it("200: keeps the report, and lag that calls for more replicas evaluates the ScaledObject at once", async () => {
    const { receiver, store, evaluated } = setup();
    const reply = await receiver.handle(req("tok-a", report()));
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { accepted: true, evaluation: "scale-up" });
    assert.equal(store.list("shop/consumer", NOW)[0]?.report.pod.name, "consumer-a");
    assert.deepEqual(evaluated, ["shop/consumer"]);
    // Within the gap no second early evaluation, though the lag still calls for one.
    await receiver.handle(req("tok-a", report()));
    assert.deepEqual(evaluated, ["shop/consumer"]);
  });

  it("200 without an early evaluation when the lag is within what the replicas handle, or stalled", async () => {
    const small = setup();
    const r = report({ lag: 5, partitions: [{ ...report().partitions[0]!, lag: 5 }] });
    assert.deepEqual((await small.receiver.handle(req("tok-a", r))).body, { accepted: true });
    const stalled = setup();
    const s = report({ partitions: [{ ...report().partitions[0]!, stalled: true, stalledForMs: 60_000 }] });
    assert.deepEqual((await stalled.receiver.handle(req("tok-a", s))).body, { accepted: true });
    assert.deepEqual([small.evaluated, stalled.evaluated], [[], []]);
  });

  it("429 with Retry-After past the pod's burst", async () => {
    const { receiver } = setup();
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await receiver.handle(req("tok-a", report()))).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    const reply = await receiver.handle(req("tok-a", report()));
    assert.equal(reply.headers?.["retry-after"], "1");
  });
});
