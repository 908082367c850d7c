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
