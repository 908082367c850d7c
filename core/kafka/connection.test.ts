import { test } from "node:test";
import assert from "node:assert/strict";
import { connectionKey, connectionLabel, connectionProblems, kafkajsConfig, tlsHint } from "./connection.js";
import {
  assertKafkajsVersion,
  installedKafkajsVersion,
  SUPPORTED_KAFKAJS_VERSION,
} from "./kafkajs-internals.js";

const t = { connectionTimeoutMs: 1000, requestTimeoutMs: 2000, retries: 1 };

test("the same brokers in any order or case, trimmed and deduplicated, are one cluster", () => {
  assert.equal(
    connectionKey({ brokers: ["b:1", "a:1"] }),
    connectionKey({ brokers: [" A:1", "b:1", "a:1 "] }),
  );
  assert.notEqual(connectionKey({ brokers: ["a:1"] }), connectionKey({ brokers: ["a:2"] }));
});

test("credentials and TLS material are part of the identity", () => {
  const base = { brokers: ["a:1"] };
  const scram = { ...base, sasl: { mechanism: "scram-sha-512" as const, username: "u", password: "p" } };
  const keys = new Set([
    connectionKey(base),
    connectionKey(scram),
    connectionKey({ ...scram, sasl: { ...scram.sasl, password: "q" } }),
    connectionKey({ ...scram, sasl: { ...scram.sasl, mechanism: "scram-sha-256" } }),
    connectionKey({ ...base, tls: {} }),
    connectionKey({ ...base, tls: { unsafeSsl: true } }),
    connectionKey({ ...base, tls: { ca: "CA" } }),
  ]);
  assert.equal(keys.size, 7);
});

test("the key and label never contain the password", () => {
  const c = {
    brokers: ["a:1"],
    sasl: { mechanism: "plain" as const, username: "alice", password: "hunter2" },
  };
  assert.doesNotMatch(connectionKey(c), /hunter2/);
  assert.equal(connectionLabel(c), "a:1 plain:alice");
  assert.equal(connectionLabel({ brokers: ["b:1", "a:1"], tls: {} }), "a:1,b:1 tls");
});

test("unusable connections are reported, each problem named", () => {
  assert.deepEqual(connectionProblems({ brokers: ["a:1"] }), []);
  assert.deepEqual(connectionProblems({ brokers: [" ", ""] }), ["no bootstrap servers given"]);
  assert.deepEqual(connectionProblems({ brokers: ["nohostport"] }), [
    'bootstrap server "nohostport" is not host:port',
  ]);
  assert.deepEqual(
    connectionProblems({
      brokers: ["a:1"],
      sasl: { mechanism: "gssapi" as never, username: "", password: "" },
      tls: { cert: "C" },
    }),
    [
      'SASL mechanism "gssapi" is not supported (plain, scram-sha-256, scram-sha-512, oauthbearer, aws-msk-iam)',
      "TLS cert and key must be given together",
    ],
  );
});

const oauth = {
  mechanism: "oauthbearer" as const,
  tokenEndpoint: "https://idp/token",
  clientId: "client",
  clientSecret: "secret",
  scopes: ["kafka"],
  extensions: { a: "1" },
};
const msk = {
  mechanism: "aws-msk-iam" as const,
  region: "eu-west-1",
  credentials: { kind: "static" as const, accessKeyId: "AKID", secretAccessKey: "SK" },
};

test("every OAuth and MSK IAM setting is part of the identity; the label names the client, never the secret", () => {
  const base = { brokers: ["a:1"], tls: {} };
  const keys = new Set([
    connectionKey({ ...base, sasl: oauth }),
    connectionKey({ ...base, sasl: { ...oauth, clientSecret: "rotated" } }),
    connectionKey({ ...base, sasl: { ...oauth, scopes: ["other"] } }),
    connectionKey({ ...base, sasl: { ...oauth, extensions: { a: "2" } } }),
    connectionKey({ ...base, sasl: { ...oauth, tokenEndpoint: "https://idp2/token" } }),
    connectionKey({ ...base, sasl: msk }),
    connectionKey({ ...base, sasl: { ...msk, region: "us-east-1" } }),
    connectionKey({ ...base, sasl: { ...msk, credentials: { ...msk.credentials, secretAccessKey: "new" } } }),
    connectionKey({ ...base, sasl: { ...msk, credentials: { kind: "environment" } } }),
  ]);
  assert.equal(keys.size, 9);
  assert.equal(connectionLabel({ ...base, sasl: oauth }), "a:1 oauthbearer:client tls");
  assert.equal(connectionLabel({ ...base, sasl: msk }), "a:1 aws-msk-iam:AKID tls");
  assert.doesNotMatch(connectionKey({ ...base, sasl: oauth }), /secret/);
});

test("OAuth and MSK IAM settings are checked before connecting", () => {
  const problems = (sasl: NonNullable<Parameters<typeof connectionProblems>[0]["sasl"]>) =>
    connectionProblems({ brokers: ["a:1"], sasl });
  assert.deepEqual(problems(oauth), []);
  assert.deepEqual(problems({ ...oauth, tokenEndpoint: "ftp://idp", clientId: "", clientSecret: "" }), [
    'oauthTokenEndpointUri "ftp://idp" is not an http(s) URL',
    "SASL OAUTHBEARER needs a username (the OAuth client id)",
    "SASL OAUTHBEARER needs a password (the OAuth client secret)",
  ]);
  assert.match(problems({ ...oauth, extensions: { "x-y": "1" } }).join(), /letters only/);
  assert.deepEqual(problems(msk), [
    "MSK IAM needs TLS (tls: enable), as MSK serves IAM on TLS listeners only",
  ]);
  assert.deepEqual(connectionProblems({ brokers: ["a:1"], sasl: msk, tls: {} }), []);
  assert.match(problems({ ...msk, region: "Frankfurt" }).join(), /not an AWS region/);
});

test("OAuth and MSK IAM connect with lagscale's own OAUTHBEARER exchange", () => {
  for (const sasl of [oauth, msk]) {
    const c = kafkajsConfig({ brokers: ["a:1"], tls: {}, sasl }, "id", t);
    const s = c.sasl as { mechanism: string; authenticationProvider?: unknown };
    assert.equal(s.mechanism, "oauthbearer");
    assert.equal(typeof s.authenticationProvider, "function");
  }
});

test("kafkajs options carry SASL and TLS as KEDA's parameters mean them", () => {
  const plain = kafkajsConfig({ brokers: ["b:1", "a:1"] }, "id", t);
  assert.deepEqual(plain.brokers, ["a:1", "b:1"]);
  assert.equal(plain.sasl, undefined);
  assert.equal(plain.ssl, undefined);
  assert.equal(plain.connectionTimeout, 1000);
  assert.equal(plain.requestTimeout, 2000);

  const full = kafkajsConfig(
    {
      brokers: ["a:1"],
      sasl: { mechanism: "scram-sha-256", username: "u", password: "p" },
      tls: { ca: "CA", cert: "CERT", key: "KEY", keyPassword: "KP", unsafeSsl: true },
    },
    "id",
    t,
  );
  assert.deepEqual(full.sasl, { mechanism: "scram-sha-256", username: "u", password: "p" });
  assert.deepEqual(full.ssl, {
    rejectUnauthorized: false,
    ca: ["CA"],
    cert: "CERT",
    key: "KEY",
    passphrase: "KP",
  });
  // tls=enable with nothing else: system roots, certificates verified.
  assert.deepEqual(kafkajsConfig({ brokers: ["a:1"], tls: {} }, "id", t).ssl, { rejectUnauthorized: true });
});

test("the kafkajs internals module accepts only the kafkajs version it was written for", () => {
  assert.equal(installedKafkajsVersion(), SUPPORTED_KAFKAJS_VERSION);
  assert.doesNotThrow(() => assertKafkajsVersion());
  assert.throws(() => assertKafkajsVersion("2.3.0"), /kafkajs 2\.3\.0 is installed/);
});

test("failed TLS handshakes get a hint naming the parameter to check", () => {
  const alert46 =
    "Connection error: 80:error:0A000416:SSL routines:ssl3_read_bytes:sslv3 alert certificate unknown:../ssl/record/rec_layer_s3.c:1601:SSL alert number 46";
  const alert42 =
    "Connection error: 80:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../ssl/record/rec_layer_s3.c:1601:SSL alert number 42";
  const withCert = { ca: "CA", cert: "C", key: "K" };
  const cases: [string, Parameters<typeof tlsHint>[1], RegExp | undefined][] = [
    ["Connection error: unable to verify the first certificate", {}, /not signed by the CA given in `ca`/],
    ["Connection error: self-signed certificate in certificate chain", {}, /check `ca`/],
    ["Connection error: certificate has expired", {}, /brokers' certificate has expired/],
    [alert46, withCert, /refused the client certificate.*`cert` and `key`/],
    [alert42, { ca: "CA" }, /wants a client certificate: give `cert` and `key`/],
    [
      "Failed to connect: error:1C800064:Provider routines::bad decrypt",
      withCert,
      /check `key` and `keyPassword`/,
    ],
    [
      "Connection error: Client network socket disconnected before secure TLS connection was established",
      {},
      /listener plaintext/,
    ],
    ["Closed connection", undefined, /set `tls: enable`/],
    ["Closed connection", {}, undefined],
    ["Connection error: connect ECONNREFUSED 127.0.0.1:9092", undefined, undefined],
    ["SASL PLAIN authentication failed: Invalid username or password", {}, undefined],
  ];
  for (const [message, tls, want] of cases) {
    const hint = tlsHint(message, tls);
    if (want) assert.match(hint ?? "", want, message);
    else assert.equal(hint, undefined, message);
  }
});
