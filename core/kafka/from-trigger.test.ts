import { test } from "node:test";
import assert from "node:assert/strict";
import { parseKafkaTrigger, type KafkaTriggerInput, type KafkaTriggerMetadata } from "../triggers/kafka.js";
import { connectionKey } from "./connection.js";
import { lagRequestFromTrigger } from "./from-trigger.js";

function parse(input: KafkaTriggerInput): KafkaTriggerMetadata {
  const r = parseKafkaTrigger(input);
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join("; "));
  return r.value;
}

const base = { bootstrapServers: "b:9092, a:9092", consumerGroup: "g" };

test("a plain trigger reads its topic and limitation; log-start only for earliest without scaleToZero", () => {
  const cases: [Record<string, string>, boolean][] = [
    [{}, false],
    [{ offsetResetPolicy: "earliest" }, true],
    [{ offsetResetPolicy: "earliest", scaleToZeroOnInvalidOffset: "true" }, false],
    [{ offsetResetPolicy: "latest" }, false],
  ];
  for (const [extra, needLogStart] of cases) {
    const r = lagRequestFromTrigger(
      parse({ metadata: { ...base, topic: "t", partitionLimitation: "1-2", ...extra } }),
    );
    assert.ok(r.ok);
    assert.deepEqual(r.request, {
      cluster: { brokers: ["b:9092", "a:9092"], sasl: undefined, tls: undefined },
      consumerGroup: "g",
      topic: "t",
      partitionLimitation: [1, 2],
      needLogStart,
    });
  }
});

test("SASL/SCRAM and TLS come from the TriggerAuthentication's parameters", () => {
  const r = lagRequestFromTrigger(
    parse({
      metadata: base,
      authParams: {
        sasl: "scram_sha512",
        username: "u",
        password: "p\n",
        tls: "enable",
        ca: "CA",
        unsafeSsl: "x",
      },
    }),
  );
  assert.ok(r.ok);
  assert.deepEqual(r.request.cluster.sasl, { mechanism: "scram-sha-512", username: "u", password: "p" });
  assert.equal(r.request.cluster.tls?.ca, "CA");
  assert.equal(r.request.topic, undefined);

  for (const [sasl, mechanism] of [
    ["plaintext", "plain"],
    ["scram_sha256", "scram-sha-256"],
  ] as const) {
    const m = lagRequestFromTrigger(
      parse({ metadata: base, authParams: { sasl, username: "u", password: "p" } }),
    );
    assert.ok(m.ok);
    assert.equal(m.request.cluster.sasl?.mechanism, mechanism);
  }
});

test("triggers with the same brokers and credentials share a connection; other credentials do not", () => {
  const key = (authParams: Record<string, string>, metadata: Record<string, string> = base) => {
    const r = lagRequestFromTrigger(parse({ metadata, authParams }));
    assert.ok(r.ok);
    return connectionKey(r.request.cluster);
  };
  const scram = { sasl: "scram_sha256", username: "u", password: "p" };
  assert.equal(
    key(scram),
    key(scram, { bootstrapServers: "a:9092,b:9092", consumerGroup: "other", topic: "x" }),
  );
  assert.notEqual(key(scram), key({ ...scram, password: "q" }));
  assert.notEqual(key(scram), key({}));
});

test("sasl: oauthbearer is KEDA's client-credentials flow: username and password are the OAuth client", () => {
  const r = lagRequestFromTrigger(
    parse({
      metadata: base,
      authParams: {
        sasl: "oauthbearer",
        username: "client",
        password: "secret",
        oauthTokenEndpointUri: "https://idp.example/token",
        scopes: "kafka, read ",
        oauthExtensions: "logicalCluster=lkc-1,identityPoolId=pool-2",
        tls: "enable",
      },
    }),
  );
  assert.ok(r.ok);
  assert.deepEqual(r.request.cluster.sasl, {
    mechanism: "oauthbearer",
    tokenEndpoint: "https://idp.example/token",
    clientId: "client",
    clientSecret: "secret",
    scopes: ["kafka", "read"],
    extensions: { logicalCluster: "lkc-1", identityPoolId: "pool-2" },
  });
});

test("saslTokenProvider: aws_msk_iam signs with the given keys or lagscale's environment, never a role", () => {
  const msk = (authParams: Record<string, string>, metadata: Record<string, string> = {}) =>
    lagRequestFromTrigger(
      parse({
        metadata: { ...base, awsRegion: "eu-west-1", ...metadata },
        authParams: { sasl: "oauthbearer", saslTokenProvider: "aws_msk_iam", tls: "enable", ...authParams },
      }),
    );
  const keys = msk({ awsAccessKeyID: "AKID", awsSecretAccessKey: "SK", awsSessionToken: "ST" });
  assert.ok(keys.ok);
  assert.deepEqual(keys.request.cluster.sasl, {
    mechanism: "aws-msk-iam",
    region: "eu-west-1",
    credentials: { kind: "static", accessKeyId: "AKID", secretAccessKey: "SK", sessionToken: "ST" },
  });
  const operator = msk({}, { identityOwner: "operator" });
  assert.ok(operator.ok);
  assert.deepEqual(operator.request.cluster.sasl, {
    mechanism: "aws-msk-iam",
    region: "eu-west-1",
    credentials: { kind: "environment" },
  });
  const role = msk({ awsRoleArn: "arn:aws:iam::1:role/r" });
  assert.ok(!role.ok);
  assert.match(role.error, /awsRoleArn\) is not supported.*does not call STS/);
});

test("mechanisms the client cannot speak are an error naming the mechanism", () => {
  const r = lagRequestFromTrigger(
    parse({
      metadata: base,
      authParams: { sasl: "gssapi", username: "u", password: "p", realm: "R", kerberosConfig: "K" },
    }),
  );
  assert.deepEqual(r, {
    ok: false,
    error:
      "sasl: gssapi is not supported by lagscale's Kafka client (plaintext, scram_sha256, scram_sha512 and oauthbearer are)",
  });
});
