/**
 * MSK IAM tokens, checked without AWS: an independent SigV4 verifier written from AWS's published algorithm
 * (checked first against AWS's published IAM ListUsers example) recomputes the signature of the presigned
 * URL inside the token.
 */
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { test } from "node:test";
import {
  MSK_ACTION,
  MSK_TOKEN_EXPIRY_S,
  MSK_USER_AGENT,
  mskIamToken,
  regionProblem,
  resolveAwsCredentials,
} from "./msk-iam.js";

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const hmac = (key: Buffer | string, s: string) => createHmac("sha256", key).update(s, "utf8").digest();
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** SigV4 from AWS's description: canonical request, string to sign, derived key, signature. */
function sigv4(o: {
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  payloadHash: string;
  amzDate: string;
  region: string;
  service: string;
  secretAccessKey: string;
}): string {
  const query = o.query
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = Object.keys(o.headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(o.headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const canonical = [
    o.method,
    o.path,
    query,
    names.map((h) => `${h}:${lower[h]}\n`).join(""),
    names.join(";"),
    o.payloadHash,
  ].join("\n");
  const day = o.amzDate.slice(0, 8);
  const scope = `${day}/${o.region}/${o.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", o.amzDate, scope, sha256(canonical)].join("\n");
  let key = hmac(`AWS4${o.secretAccessKey}`, day);
  for (const part of [o.region, o.service, "aws4_request"]) key = hmac(key, part);
  return createHmac("sha256", key).update(toSign, "utf8").digest("hex");
}

test("the verifier reproduces AWS's published SigV4 example (IAM ListUsers, 2015-08-30)", () => {
  assert.equal(
    sigv4({
      method: "GET",
      path: "/",
      query: [
        ["Action", "ListUsers"],
        ["Version", "2010-05-08"],
      ],
      headers: {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        Host: "iam.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
      },
      payloadHash: sha256(""),
      amzDate: "20150830T123600Z",
      region: "us-east-1",
      service: "iam",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    }),
    "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
  );
});

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "session/token+with=odd chars",
};
const at = new Date("2026-03-04T05:06:07Z");

test("the token is a base64url presigned kafka-cluster:Connect URL whose signature verifies", async () => {
  const token = await mskIamToken("eu-west-1", credentials, at);
  assert.match(token, /^[A-Za-z0-9_-]+$/, "base64url without padding");
  const url = new URL(Buffer.from(token, "base64url").toString("utf8"));
  assert.equal(url.origin, "https://kafka.eu-west-1.amazonaws.com");
  assert.equal(url.pathname, "/");
  const q = url.searchParams;
  assert.equal(q.get("Action"), MSK_ACTION);
  assert.equal(q.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
  assert.equal(q.get("X-Amz-Credential"), "AKIDEXAMPLE/20260304/eu-west-1/kafka-cluster/aws4_request");
  assert.equal(q.get("X-Amz-Date"), "20260304T050607Z");
  assert.equal(q.get("X-Amz-Expires"), String(MSK_TOKEN_EXPIRY_S));
  assert.equal(q.get("X-Amz-SignedHeaders"), "host");
  assert.equal(q.get("X-Amz-Security-Token"), credentials.sessionToken);
  assert.equal(q.get("User-Agent"), MSK_USER_AGENT);
  // Everything but the signature and the user agent (added after signing, as AWS's signers do) is signed.
  const signed = [...q.entries()].filter(([k]) => k !== "X-Amz-Signature" && k !== "User-Agent");
  const expected = sigv4({
    method: "GET",
    path: "/",
    query: signed,
    headers: { host: "kafka.eu-west-1.amazonaws.com" },
    payloadHash: sha256(""),
    amzDate: "20260304T050607Z",
    region: "eu-west-1",
    service: "kafka-cluster",
    secretAccessKey: credentials.secretAccessKey,
  });
  assert.equal(q.get("X-Amz-Signature"), expected);
  // Another secret gives another signature: the check above can fail.
  const other = await mskIamToken("eu-west-1", { ...credentials, secretAccessKey: "other" }, at);
  const otherSig = new URL(Buffer.from(other, "base64url").toString("utf8")).searchParams.get(
    "X-Amz-Signature",
  );
  assert.notEqual(otherSig, expected);
});

test("without a session token there is no X-Amz-Security-Token", async () => {
  const token = await mskIamToken("us-east-1", { accessKeyId: "A", secretAccessKey: "S" }, at);
  const q = new URL(Buffer.from(token, "base64url").toString("utf8")).searchParams;
  assert.equal(q.has("X-Amz-Security-Token"), false);
});

test("credentials come from the trigger or lagscale's environment; a web identity is refused by name", () => {
  const cases: [Parameters<typeof resolveAwsCredentials>, string][] = [
    [[{ kind: "static", accessKeyId: "A", secretAccessKey: "S" }, {}], "A"],
    [[{ kind: "environment" }, { AWS_ACCESS_KEY_ID: "E", AWS_SECRET_ACCESS_KEY: "S" }], "E"],
    [[{ kind: "environment" }, { AWS_ROLE_ARN: "arn", AWS_WEB_IDENTITY_TOKEN_FILE: "/t" }], "STS"],
    [[{ kind: "environment" }, {}], "no AWS credentials"],
  ];
  for (const [args, want] of cases) {
    const r = resolveAwsCredentials(...args);
    if (r.ok) assert.equal(r.credentials.accessKeyId, want);
    else assert.match(r.error, new RegExp(want));
  }
  const withToken = resolveAwsCredentials(
    { kind: "environment" },
    { AWS_ACCESS_KEY_ID: "E", AWS_SECRET_ACCESS_KEY: "S", AWS_SESSION_TOKEN: "T" },
  );
  assert.ok(withToken.ok && withToken.credentials.sessionToken === "T");
});

test("region names are checked before signing", () => {
  for (const ok of ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-4"]) {
    assert.equal(regionProblem(ok), undefined, ok);
  }
  for (const bad of ["", "useast1", "US-EAST-1", "kafka.us-east-1.amazonaws.com"]) {
    assert.match(regionProblem(bad) ?? "", /not an AWS region/, bad);
  }
});
