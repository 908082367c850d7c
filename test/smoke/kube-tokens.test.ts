/**
 * Smoke test of the control plane's service-account tokens, which the controller relies on to authenticate
 * sidecar reports: the real API server issues a token through TokenRequest and accepts it in a TokenReview;
 * an altered or forged token is rejected. Everything here is the real API server of the stack.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { AuthenticationV1Api, CoreV1Api, type V1TokenReview } from "@kubernetes/client-node";
import { stackKubeConfig } from "../support/kube.js";

const kc = stackKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const authn = kc.makeApiClient(AuthenticationV1Api);

const ns = `smoke-tokens-${Date.now().toString(36)}`;
const sa = "reporter";
const audience = "lagscale-smoke";

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");
const decode = (part: string | undefined) =>
  JSON.parse(Buffer.from(part ?? "", "base64url").toString()) as Record<string, unknown>;

async function review(token: string, audiences = [audience]): Promise<NonNullable<V1TokenReview["status"]>> {
  const res = await authn.createTokenReview({ body: { spec: { token, audiences } } });
  assert.ok(res.status, "TokenReview came back without a status");
  return res.status;
}

describe("service-account tokens (TokenRequest, TokenReview)", () => {
  let token = "";
  let saUid = "";

  before(async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const created = await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: sa } },
    });
    saUid = created.metadata?.uid ?? "";
    const tr = await core.createNamespacedServiceAccountToken({
      name: sa,
      namespace: ns,
      body: { spec: { audiences: [audience], expirationSeconds: 600 } },
    });
    assert.ok(tr.status?.token, "TokenRequest returned no token");
    token = tr.status.token;
  });

  after(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it("issues a signed JWT for the ServiceAccount and accepts it in a TokenReview", async () => {
    const [header, payload, signature] = token.split(".");
    assert.ok(header && payload && signature, "TokenRequest did not return a JWT");
    const claims = decode(payload);
    assert.equal(claims.sub, `system:serviceaccount:${ns}:${sa}`);
    assert.deepEqual(claims.aud, [audience]);
    assert.equal(decode(header).alg, "RS256");

    const status = await review(token);
    assert.equal(status.authenticated, true, `TokenReview did not authenticate: ${status.error ?? ""}`);
    assert.equal(status.user?.username, `system:serviceaccount:${ns}:${sa}`);
    assert.equal(status.user?.uid, saUid);
    assert.ok(
      status.user?.groups?.includes(`system:serviceaccounts:${ns}`),
      `groups: ${status.user?.groups?.join(",")}`,
    );
    assert.deepEqual(status.audiences, [audience]);
  });

  it("rejects the genuine token for another audience", async () => {
    const status = await review(token, ["someone-else"]);
    assert.notEqual(status.authenticated, true);
  });

  it("rejects a token whose claims were altered after signing", async () => {
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = decode(payload);
    claims.sub = `system:serviceaccount:${ns}:admin`;
    const altered = `${header}.${b64url(JSON.stringify(claims))}.${signature}`;
    const status = await review(altered);
    assert.notEqual(status.authenticated, true);
    assert.equal(status.user?.username ?? "", "");

    const truncated = `${header}.${payload}.${signature.slice(0, -4)}`;
    assert.notEqual((await review(truncated)).authenticated, true);
  });

  it("rejects a token with the right claims signed by a key that is not the cluster's", async () => {
    const [header, payload] = token.split(".") as [string, string, string];
    // Same header (same key id) and claims, signed with a key of our own: a forgery only the signature betrays.
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const signingInput = `${header}.${payload}`;
    const forged = `${signingInput}.${b64url(sign("sha256", Buffer.from(signingInput), privateKey))}`;
    const status = await review(forged);
    assert.notEqual(status.authenticated, true);

    const unsigned = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`;
    assert.notEqual((await review(unsigned)).authenticated, true);
  });
});
