/**
 * The client-credentials token source. The token endpoint here is a fake `fetch` with a fake clock; the real
 * HTTP exchange against a local issuer and the broker is in test/lag/kafka-security.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ClientCredentialsTokenSource,
  parseTokenAnswer,
  refreshAt,
  tokenRequest,
  type Fetch,
} from "./oauthbearer.js";
import type { KafkaSaslOAuthBearer } from "./types.js";

const creds: KafkaSaslOAuthBearer = {
  mechanism: "oauthbearer",
  tokenEndpoint: "https://idp.example/token",
  clientId: "client:1",
  clientSecret: "s3cret&",
  scopes: ["kafka", "read"],
  extensions: { logicalCluster: "lkc-1" },
};

test("token endpoint answers: tokens with or without a lifetime, and errors a person can act on", () => {
  const cases: [number, string, RegExp | { token: string; expiresInS: number | undefined }][] = [
    [200, '{"access_token":"a","expires_in":300}', { token: "a", expiresInS: 300 }],
    [200, '{"access_token":"a","expires_in":"60"}', { token: "a", expiresInS: 60 }],
    [200, '{"access_token":"a"}', { token: "a", expiresInS: undefined }],
    [200, '{"access_token":"a","expires_in":-5}', { token: "a", expiresInS: undefined }],
    [200, '{"token_type":"Bearer"}', /without an access_token/],
    [200, "<html>", /not JSON/],
    [401, '{"error":"invalid_client"}', /HTTP 401 invalid_client.*client id and secret/],
    [
      400,
      '{"error":"invalid_scope","error_description":"no such scope"}',
      /invalid_scope: no such scope \(check scopes\)/,
    ],
    [503, "busy", /HTTP 503$/],
  ];
  for (const [status, body, want] of cases) {
    const r = parseTokenAnswer("https://idp/token", status, body);
    if (want instanceof RegExp) {
      assert.ok(!r.ok, body);
      assert.match(r.error, want);
      assert.match(r.error, /https:\/\/idp\/token/);
    } else {
      assert.deepEqual(r, { ok: true, accessToken: want.token, expiresInS: want.expiresInS }, body);
    }
  }
});

test("tokens are replaced 10% before their end, and never later than 10 s before", () => {
  assert.equal(refreshAt(0, 3_600_000), 3_240_000);
  assert.equal(refreshAt(1000, 60_000), 51_000);
  assert.equal(refreshAt(0, 5_000), -5_000, "a token shorter than the margin is replaced at once");
  assert.equal(refreshAt(0, Infinity), Infinity);
});

test("the request is a client-credentials grant with the secret in HTTP Basic and the scopes space-separated", () => {
  const r = tokenRequest(creds);
  assert.equal(new URLSearchParams(r.body).get("grant_type"), "client_credentials");
  assert.equal(new URLSearchParams(r.body).get("scope"), "kafka read");
  const basic = Buffer.from(r.headers["authorization"]!.replace(/^Basic /, ""), "base64").toString();
  assert.equal(basic, "client%3A1:s3cret%26", "form-encoded id and secret (RFC 6749 §2.3.1)");
  assert.equal(new URLSearchParams(tokenRequest({ ...creds, scopes: [] }).body).has("scope"), false);
});

function fakeEndpoint(answers: { status: number; body: string }[]) {
  const calls: string[] = [];
  const fetch: Fetch = (url) => {
    calls.push(url);
    const a = answers.shift();
    if (!a)
      return Promise.reject(new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") }));
    return Promise.resolve({ status: a.status, text: () => Promise.resolve(a.body) });
  };
  return { calls, fetch };
}

test("a live token is reused; one near its end, or refused by the broker, is replaced", async () => {
  let now = 0;
  const ep = fakeEndpoint([
    { status: 200, body: '{"access_token":"t1","expires_in":100}' },
    { status: 200, body: '{"access_token":"t2","expires_in":100}' },
    { status: 200, body: '{"access_token":"t3","expires_in":100}' },
  ]);
  const source = new ClientCredentialsTokenSource(creds, { fetch: ep.fetch, now: () => now });
  assert.deepEqual(await source.token(), { value: "t1", extensions: { logicalCluster: "lkc-1" } });
  now = 89_000;
  assert.equal((await source.token()).value, "t1", "still 11 s left");
  now = 90_000;
  assert.equal((await source.token()).value, "t2", "10 s left: replaced");
  source.invalidate();
  assert.equal((await source.token()).value, "t3");
  assert.equal(ep.calls.length, 3);
});

test("connections opened together share one request; failures are reported and not cached", async () => {
  const ep = fakeEndpoint([
    { status: 401, body: '{"error":"invalid_client"}' },
    { status: 200, body: '{"access_token":"t","expires_in":100}' },
  ]);
  const source = new ClientCredentialsTokenSource(creds, { fetch: ep.fetch, now: () => 0 });
  const both = await Promise.allSettled([source.token(), source.token()]);
  assert.equal(ep.calls.length, 1);
  for (const r of both)
    assert.ok(r.status === "rejected" && /HTTP 401 invalid_client/.test(String(r.reason)));
  assert.equal((await source.token()).value, "t");
  await assert.rejects(
    new ClientCredentialsTokenSource(creds, { fetch: fakeEndpoint([]).fetch }).token(),
    /token endpoint https:\/\/idp\.example\/token could not be reached: connect ECONNREFUSED/,
  );
});
