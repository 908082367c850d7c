import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bearerToken,
  identityFromReview,
  REPORTS_AUDIENCE,
  ReportAuthenticator,
  type TokenReviewStatus,
} from "./auth.js";

const good: TokenReviewStatus = {
  authenticated: true,
  audiences: [REPORTS_AUDIENCE],
  user: {
    username: "system:serviceaccount:shop:consumer",
    extra: {
      "authentication.kubernetes.io/pod-name": ["consumer-7d9f-abcde"],
      "authentication.kubernetes.io/pod-uid": ["3f1c-uid"],
    },
  },
};

describe("identityFromReview", () => {
  it("reads the namespace, ServiceAccount and bound pod", () => {
    assert.deepEqual(identityFromReview(good), {
      ok: true,
      identity: {
        namespace: "shop",
        serviceAccount: "consumer",
        podName: "consumer-7d9f-abcde",
        podUid: "3f1c-uid",
      },
    });
  });
  const refused: [string, TokenReviewStatus, RegExp][] = [
    [
      "not authenticated",
      { authenticated: false, error: "invalid bearer token" },
      /not accepted: invalid bearer/,
    ],
    [
      "another audience",
      { ...good, audiences: ["https://kubernetes.default.svc"] },
      /audience lagscale.io\/reports/,
    ],
    ["not a ServiceAccount", { ...good, user: { username: "alice" } }, /not a ServiceAccount token/],
    ["not bound to a pod", { ...good, user: { username: good.user!.username! } }, /not bound to a pod/],
  ];
  for (const [name, status, want] of refused) {
    it(`refuses: ${name}`, () => {
      const r = identityFromReview(status);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, want);
    });
  }
});

describe("bearerToken", () => {
  it("takes the token of a Bearer header only", () => {
    assert.equal(bearerToken("Bearer abc.def-ghi_"), "abc.def-ghi_");
    assert.equal(bearerToken("bearer x"), "x");
    assert.equal(bearerToken("Basic dXNlcjpwYXNz"), undefined);
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken("Bearer "), undefined);
  });
});

describe("ReportAuthenticator", () => {
  // A fake reviewer stands in for the API server's TokenReview: this checks the cache, not the API.
  it("reviews a token once per cache period", async () => {
    let now = 0;
    const seen: string[] = [];
    const auth = new ReportAuthenticator({
      reviewer: {
        review: (token, audiences) => {
          seen.push(`${token}@${audiences.join(",")}`);
          return Promise.resolve(token === "good" ? good : { authenticated: false });
        },
      },
      cacheMs: 10_000,
      now: () => now,
    });
    assert.equal((await auth.authenticate("good")).ok, true);
    assert.equal((await auth.authenticate("good")).ok, true);
    assert.equal((await auth.authenticate("forged")).ok, false);
    assert.equal((await auth.authenticate("forged")).ok, false);
    assert.deepEqual(seen, [`good@${REPORTS_AUDIENCE}`, `forged@${REPORTS_AUDIENCE}`]);
    now = 10_001;
    await auth.authenticate("good");
    assert.equal(seen.length, 3, "reviewed again after the cache period");
  });
});

describe("ReportAuthenticator before any pod is known (pre-auth limits)", () => {
  // A fake reviewer stands in for the API server's TokenReview: it counts reviews and accepts "good" only.
  function counting() {
    const seen: string[] = [];
    const reviewer = {
      review: (token: string) => {
        seen.push(token);
        return Promise.resolve(token === "good" ? good : { authenticated: false, error: "invalid" });
      },
    };
    return { seen, reviewer };
  }

  it("a flood of distinct forged tokens costs at most the review budget; then 429-type answers, cached tokens still pass", async () => {
    let now = 0;
    const { seen, reviewer } = counting();
    const auth = new ReportAuthenticator({ reviewer, reviewsPerSecond: 2, reviewBurst: 5, now: () => now });
    assert.equal((await auth.authenticate("good")).ok, true);
    const answers = [];
    for (let i = 0; i < 1000; i++) answers.push(await auth.authenticate(`forged-${i}`));
    assert.equal(seen.length, 5, "the burst, and no more");
    assert.ok(answers.slice(0, 4).every((a) => !a.ok && a.retryAfterSeconds === undefined));
    const throttled = answers[4]!;
    assert.ok(!throttled.ok && throttled.retryAfterSeconds === 1, JSON.stringify(throttled));
    assert.match(!throttled.ok ? throttled.reason : "", /too many tokens to check/);
    assert.equal((await auth.authenticate("good")).ok, true, "a cached pod is not slowed by the flood");
    now = 1_000;
    await auth.authenticate("forged-new-1");
    await auth.authenticate("forged-new-2");
    const third = await auth.authenticate("forged-new-3");
    assert.equal(seen.length, 7, "the budget refills at reviewsPerSecond");
    assert.ok(!third.ok && third.retryAfterSeconds !== undefined);
  });

  it("refused tokens are kept apart: forged tokens cannot evict a pod's answer, and one sent again is not reviewed again", async () => {
    let now = 0;
    const { seen, reviewer } = counting();
    const auth = new ReportAuthenticator({
      reviewer,
      maxEntries: 2,
      maxRefused: 3,
      refusedCacheMs: 60_000,
      reviewBurst: 1000,
      now: () => now,
    });
    await auth.authenticate("good");
    for (let i = 0; i < 50; i++) await auth.authenticate(`forged-${i}`);
    assert.equal(seen.length, 51);
    assert.equal((await auth.authenticate("good")).ok, true);
    assert.equal(seen.length, 51, "the pod's answer survived 50 refused tokens");
    assert.equal((await auth.authenticate("forged-49")).ok, false);
    assert.equal(seen.length, 51, "a refused token sent again is answered from the cache");
    await auth.authenticate("forged-0");
    assert.equal(seen.length, 52, "the refused cache is bounded: the oldest were dropped");
    now = 60_001;
    await auth.authenticate("forged-49");
    assert.equal(seen.length, 53, "reviewed again after refusedCacheMs");
  });

  it("concurrent requests with one token share one review", async () => {
    let release = (): void => undefined;
    const seen: string[] = [];
    const auth = new ReportAuthenticator({
      reviewer: {
        review: (token) => {
          seen.push(token);
          return new Promise((resolve) => (release = () => resolve({ authenticated: false })));
        },
      },
    });
    const pending = Array.from({ length: 100 }, () => auth.authenticate("same-forged"));
    release();
    const answers = await Promise.all(pending);
    assert.equal(seen.length, 1);
    assert.ok(answers.every((a) => !a.ok && a.retryAfterSeconds === undefined));
  });
});
