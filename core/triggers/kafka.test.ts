import { test } from "node:test";
import assert from "node:assert/strict";
import {
  kafkaClusterIdentity,
  kafkaMetricName,
  kafkaUnsupportedReason,
  parseKafkaTrigger,
  parsePartitionLimitation,
  type KafkaTriggerMetadata,
} from "./kafka.js";
import { checkKafkaVersion } from "./kafka-versions.js";
import type { ParseResult } from "./params.js";

type M = Record<string, string>;

function mustParse(r: ParseResult<KafkaTriggerMetadata>): KafkaTriggerMetadata {
  if (!r.ok) assert.fail(`expected success, got ${JSON.stringify(r.errors)}`);
  return r.value;
}

// KEDA's parseKafkaMetadataTestDataset (kafka_scaler_test.go), one row per case, in its order.
// expect: undefined for error rows; otherwise the fields KEDA's test checks.
interface MetaCase {
  name: string;
  metadata: M;
  expect?: {
    brokers: string[];
    group: string;
    topic?: string;
    partitionLimitation?: number[];
    offsetResetPolicy: "latest" | "earliest";
    allowIdleConsumers: boolean;
    excludePersistentLag: boolean;
    limitToPartitionsWithLag: boolean;
    ensureEvenDistributionOfPartitions: boolean;
    fullMetadata: boolean;
    scaleToZeroOnInvalidOffset?: boolean;
    lagThreshold?: number;
  };
}
const B = { bootstrapServers: "foobar:9092", consumerGroup: "my-group" };
const BT = { ...B, topic: "my-topic" };
const BB = { bootstrapServers: "foo:9092,bar:9092", consumerGroup: "my-group", topic: "my-topic" };
const ok = (over: Partial<NonNullable<MetaCase["expect"]>> = {}): MetaCase["expect"] => ({
  brokers: ["foobar:9092"],
  group: "my-group",
  topic: "my-topic",
  offsetResetPolicy: "latest",
  allowIdleConsumers: false,
  excludePersistentLag: false,
  limitToPartitionsWithLag: false,
  ensureEvenDistributionOfPartitions: false,
  fullMetadata: true,
  scaleToZeroOnInvalidOffset: false,
  ...over,
});
const noTopic = { topic: undefined };
const two = { brokers: ["foo:9092", "bar:9092"] };

const metadataCases: MetaCase[] = [
  { name: "failure, no bootstrapServers", metadata: {} },
  { name: "failure, no consumer group", metadata: { bootstrapServers: "foobar:9092" } },
  { name: "success, no topic", metadata: B, expect: ok(noTopic) },
  {
    name: "success, ignore partitionLimitation if no topic",
    metadata: { ...B, partitionLimitation: "1,2,3,4,5,6" },
    expect: ok(noTopic),
  },
  {
    name: "success, no limitation with whitespaced limitation value",
    metadata: { ...B, partitionLimitation: "           " },
    expect: ok(noTopic),
  },
  { name: "success, no limitation", metadata: { ...B, partitionLimitation: "" }, expect: ok(noTopic) },
  { name: "failure, version not supported", metadata: { ...BT, version: "1.2.3.4" } },
  { name: "failure, lagThreshold is negative value", metadata: { ...BT, lagThreshold: "-1" } },
  { name: "failure, lagThreshold is 0", metadata: { ...BT, lagThreshold: "0" } },
  {
    name: "success, lagThreshold is 1000000",
    metadata: { ...BT, lagThreshold: "1000000", activationLagThreshold: "0" },
    expect: ok({ lagThreshold: 1000000 }),
  },
  {
    name: "failure, activationLagThreshold is not int",
    metadata: { ...BT, lagThreshold: "10", activationLagThreshold: "AA" },
  },
  {
    name: "success, activationLagThreshold is 0",
    metadata: { ...BT, lagThreshold: "10", activationLagThreshold: "0" },
    expect: ok({ lagThreshold: 10 }),
  },
  { name: "success", metadata: BT, expect: ok({ lagThreshold: 10 }) },
  {
    name: "success, partitionLimitation as list",
    metadata: { ...BT, partitionLimitation: "1,2,3,4" },
    expect: ok({ partitionLimitation: [1, 2, 3, 4] }),
  },
  {
    name: "success, partitionLimitation as range",
    metadata: { ...BT, partitionLimitation: "1-4" },
    expect: ok({ partitionLimitation: [1, 2, 3, 4] }),
  },
  {
    name: "success, partitionLimitation mixed list + ranges",
    metadata: { ...BT, partitionLimitation: "1-4,8,10-12" },
    expect: ok({ partitionLimitation: [1, 2, 3, 4, 8, 10, 11, 12] }),
  },
  {
    name: "failure, partitionLimitation wrong data type",
    metadata: { ...BT, partitionLimitation: "a,b,c,d" },
  },
  { name: "success, more brokers", metadata: BB, expect: ok(two) },
  {
    name: "success, offsetResetPolicy policy latest",
    metadata: { ...BB, offsetResetPolicy: "latest" },
    expect: ok(two),
  },
  { name: "failure, offsetResetPolicy policy wrong", metadata: { ...BB, offsetResetPolicy: "foo" } },
  {
    name: "success, offsetResetPolicy policy earliest",
    metadata: { ...BB, offsetResetPolicy: "earliest" },
    expect: ok({ ...two, offsetResetPolicy: "earliest" }),
  },
  { name: "failure, allowIdleConsumers malformed", metadata: { ...BT, allowIdleConsumers: "notvalid" } },
  {
    name: "success, allowIdleConsumers is true",
    metadata: { ...BT, allowIdleConsumers: "true" },
    expect: ok({ allowIdleConsumers: true }),
  },
  {
    name: "failure, excludePersistentLag is malformed",
    metadata: { ...BT, excludePersistentLag: "notvalid" },
  },
  {
    name: "success, excludePersistentLag is true",
    metadata: { ...BT, excludePersistentLag: "true" },
    expect: ok({ excludePersistentLag: true }),
  },
  {
    name: "success, version supported",
    metadata: { ...BT, allowIdleConsumers: "true", version: "1.0.0" },
    expect: ok({ allowIdleConsumers: true }),
  },
  {
    name: "success, limitToPartitionsWithLag is true",
    metadata: { ...BT, limitToPartitionsWithLag: "true" },
    expect: ok({ limitToPartitionsWithLag: true }),
  },
  {
    name: "failure, limitToPartitionsWithLag is malformed",
    metadata: { ...BT, limitToPartitionsWithLag: "notvalid" },
  },
  {
    name: "failure, allowIdleConsumers and limitToPartitionsWithLag cannot be set to true simultaneously",
    metadata: { ...BT, allowIdleConsumers: "true", limitToPartitionsWithLag: "true" },
  },
  {
    name: "success, allowIdleConsumers can be set when limitToPartitionsWithLag is false",
    metadata: { ...BT, allowIdleConsumers: "true", limitToPartitionsWithLag: "false" },
    expect: ok({ allowIdleConsumers: true }),
  },
  {
    name: "failure, topic must be specified when limitToPartitionsWithLag is true",
    metadata: { ...B, limitToPartitionsWithLag: "true" },
  },
  {
    name: "success, ensureEvenDistributionOfPartitions is true",
    metadata: { ...BT, ensureEvenDistributionOfPartitions: "true" },
    expect: ok({ ensureEvenDistributionOfPartitions: true }),
  },
  {
    name: "failure, limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set to true simultaneously",
    metadata: { ...BT, ensureEvenDistributionOfPartitions: "true", limitToPartitionsWithLag: "true" },
  },
  { name: "success, fullMetadata true with topic", metadata: { ...BT, fullMetadata: "true" }, expect: ok() },
  {
    name: "success, fullMetadata true without topic",
    metadata: { ...B, fullMetadata: "true" },
    expect: ok(noTopic),
  },
  {
    name: "success, fullMetadata false with topic",
    metadata: { ...BT, fullMetadata: "false" },
    expect: ok({ fullMetadata: false }),
  },
  { name: "failure, fullMetadata false without topic", metadata: { ...B, fullMetadata: "false" } },
  { name: "failure, fullMetadata malformed", metadata: { ...BT, fullMetadata: "notabool" } },
  // lagscale's own cases beyond KEDA's dataset.
  {
    name: "failure, activationLagThreshold is negative",
    metadata: { ...BT, lagThreshold: "10", activationLagThreshold: "-1" },
  },
  {
    name: "success, scaleToZeroOnInvalidOffset is true",
    metadata: { ...BT, scaleToZeroOnInvalidOffset: "true" },
    expect: ok({ scaleToZeroOnInvalidOffset: true }),
  },
  {
    name: "failure, scaleToZeroOnInvalidOffset is malformed",
    metadata: { ...BT, scaleToZeroOnInvalidOffset: "yes" },
  },
  {
    name: "failure, topic must be specified when ensureEvenDistributionOfPartitions is true",
    metadata: { ...B, ensureEvenDistributionOfPartitions: "true" },
  },
];

// KEDA runs each row twice: with SASL plaintext credentials in the TriggerAuthentication, and with none.
const authVariants: [string, M][] = [
  ["with auth params", { sasl: "plaintext", username: "admin", password: "admin" }],
  ["without auth params", {}],
];

for (const c of metadataCases) {
  for (const [variant, authParams] of authVariants) {
    test(`kafka metadata (KEDA parseKafkaMetadataTestDataset): ${c.name}, ${variant}`, () => {
      const r = parseKafkaTrigger({ metadata: c.metadata, authParams });
      if (!c.expect) {
        assert.equal(r.ok, false, "expected an error");
        if (!r.ok) assert.ok(r.errors.length > 0);
        return;
      }
      const m = mustParse(r);
      assert.deepEqual(m.bootstrapServers, c.expect.brokers);
      assert.equal(m.consumerGroup, c.expect.group);
      assert.equal(m.topic, c.expect.topic);
      assert.deepEqual(m.partitionLimitation, c.expect.partitionLimitation);
      assert.equal(m.offsetResetPolicy, c.expect.offsetResetPolicy);
      assert.equal(m.allowIdleConsumers, c.expect.allowIdleConsumers);
      assert.equal(m.excludePersistentLag, c.expect.excludePersistentLag);
      assert.equal(m.limitToPartitionsWithLag, c.expect.limitToPartitionsWithLag);
      assert.equal(m.scaleToZeroOnInvalidOffset, c.expect.scaleToZeroOnInvalidOffset);
      assert.equal(m.ensureEvenDistributionOfPartitions, c.expect.ensureEvenDistributionOfPartitions);
      assert.equal(m.fullMetadata, c.expect.fullMetadata);
      assert.equal(m.lagThreshold, c.expect.lagThreshold ?? 10);
    });
  }
}

// KEDA's parseKafkaAuthParamsTestDataset: metadata is validKafkaMetadata, everything else comes from the
// TriggerAuthentication. [name, authParams, isError, enableTLS]
const validKafkaMetadata: M = {
  bootstrapServers: "broker1:9092,broker2:9092",
  consumerGroup: "my-group",
  topic: "my-topic",
  allowIdleConsumers: "false",
};
const TLS3 = { tls: "enable", ca: "caaa", cert: "ceert", key: "keey" };
const OAUTH = {
  username: "admin",
  password: "admin",
  scopes: "scope",
  oauthTokenEndpointUri: "https://website.com",
};
const authCases: [string, M, boolean, boolean][] = [
  ["success, SASL only", { sasl: "plaintext", username: "admin", password: "admin" }, false, false],
  [
    "success, SASL only (scram_sha256)",
    { sasl: "scram_sha256", username: "admin", password: "admin" },
    false,
    false,
  ],
  [
    "success, SASL only (scram_sha512)",
    { sasl: "scram_sha512", username: "admin", password: "admin" },
    false,
    false,
  ],
  ["success, TLS only", TLS3, false, true],
  ["success, TLS cert/key and assumed public CA", { tls: "enable", cert: "ceert", key: "keey" }, false, true],
  [
    "success, TLS cert/key + key password and assumed public CA",
    { tls: "enable", cert: "ceert", key: "keey", keyPassword: "keeyPassword" },
    false,
    true,
  ],
  ["success, TLS CA only", { tls: "enable", ca: "caaa" }, false, true],
  ["success, SASL + TLS", { sasl: "plaintext", username: "admin", password: "admin", ...TLS3 }, false, true],
  [
    "success, SASL + TLS explicitly disabled",
    { sasl: "plaintext", username: "admin", password: "admin", tls: "disable" },
    false,
    false,
  ],
  ["success, SASL OAUTHBEARER + TLS", { sasl: "oauthbearer", ...OAUTH, tls: "disable" }, false, false],
  [
    "success, SASL GSSAPI/password",
    { sasl: "gssapi", username: "admin", password: "admin", kerberosConfig: "<config>", realm: "tst.com" },
    false,
    false,
  ],
  [
    "success, SASL GSSAPI/keytab",
    {
      sasl: "gssapi",
      username: "admin",
      keytab: "/path/to/keytab",
      kerberosConfig: "<config>",
      realm: "tst.com",
    },
    false,
    false,
  ],
  [
    "success, SASL GSSAPI/password + TLS",
    {
      sasl: "gssapi",
      username: "admin",
      password: "admin",
      kerberosConfig: "<config>",
      realm: "tst.com",
      ...TLS3,
    },
    false,
    true,
  ],
  [
    "success, SASL GSSAPI/keytab + TLS",
    {
      sasl: "gssapi",
      username: "admin",
      keytab: "/path/to/keytab",
      kerberosConfig: "<config>",
      realm: "tst.com",
      ...TLS3,
    },
    false,
    true,
  ],
  [
    "success, SASL GSSAPI, KerberosServiceName supported",
    {
      sasl: "gssapi",
      username: "admin",
      keytab: "/path/to/keytab",
      kerberosConfig: "<config>",
      realm: "tst.com",
      kerberosServiceName: "srckafka",
    },
    false,
    false,
  ],
  ["failure, SASL OAUTHBEARER + TLS bad sasl type", { sasl: "foo", ...OAUTH, tls: "disable" }, true, false],
  [
    "success, SASL OAUTHBEARER + TLS missing scope",
    {
      sasl: "oauthbearer",
      username: "admin",
      password: "admin",
      oauthTokenEndpointUri: "https://website.com",
      tls: "disable",
    },
    false,
    false,
  ],
  [
    "failure, SASL OAUTHBEARER + TLS missing oauthTokenEndpointUri",
    { sasl: "oauthbearer", ...OAUTH, oauthTokenEndpointUri: "", tls: "disable" },
    true,
    false,
  ],
  ["failure, SASL incorrect type", { sasl: "foo", username: "admin", password: "admin" }, true, false],
  ["failure, SASL missing username", { sasl: "plaintext", password: "admin" }, true, false],
  ["failure, SASL missing password", { sasl: "plaintext", username: "admin" }, true, false],
  ["failure, TLS missing cert", { tls: "enable", ca: "caaa", key: "keey" }, true, false],
  ["failure, TLS missing key", { tls: "enable", ca: "caaa", cert: "ceert" }, true, false],
  ["failure, TLS invalid", { tls: "yes", ca: "caaa", cert: "ceert", key: "keey" }, true, false],
  [
    "failure, SASL + TLS, incorrect sasl",
    { sasl: "foo", username: "admin", password: "admin", ...TLS3 },
    true,
    false,
  ],
  [
    "failure, SASL + TLS, incorrect tls",
    { sasl: "plaintext", username: "admin", password: "admin", ...TLS3, tls: "foo" },
    true,
    false,
  ],
  ["failure, SASL + TLS, missing username", { sasl: "plaintext", password: "admin", ...TLS3 }, true, false],
  ["failure, SASL + TLS, missing password", { sasl: "plaintext", username: "admin", ...TLS3 }, true, false],
  [
    "failure, SASL + TLS, missing cert",
    { sasl: "plaintext", username: "admin", password: "admin", tls: "enable", ca: "caaa", key: "keey" },
    true,
    false,
  ],
  [
    "failure, SASL + TLS, missing key",
    { sasl: "plaintext", username: "admin", password: "admin", tls: "enable", ca: "caaa", cert: "ceert" },
    true,
    false,
  ],
  [
    "failure, SASL GSSAPI missing password and keytab",
    { sasl: "gssapi", username: "admin", kerberosConfig: "<config>", realm: "tst.com" },
    true,
    false,
  ],
  [
    "failure, SASL GSSAPI provided both password and keytab",
    {
      sasl: "gssapi",
      username: "admin",
      password: "admin",
      keytab: "/path/to/keytab",
      kerberosConfig: "<config>",
      realm: "tst.com",
    },
    true,
    false,
  ],
  [
    "failure, SASL GSSAPI/password + TLS missing realm",
    { sasl: "gssapi", username: "admin", password: "admin", kerberosConfig: "<config>", ...TLS3 },
    true,
    false,
  ],
  [
    "failure, SASL GSSAPI/keytab + TLS missing username",
    { sasl: "gssapi", keytab: "/path/to/keytab", kerberosConfig: "<config>", realm: "tst.com", ...TLS3 },
    true,
    false,
  ],
  [
    "success, SASL GSSAPI/disableFast",
    {
      sasl: "gssapi",
      username: "admin",
      keytab: "/path/to/keytab",
      kerberosConfig: "<config>",
      realm: "tst.com",
      kerberosDisableFAST: "true",
    },
    false,
    false,
  ],
  [
    "failure, SASL GSSAPI/disableFast incorrect",
    {
      sasl: "gssapi",
      username: "admin",
      keytab: "/path/to/keytab",
      kerberosConfig: "<config>",
      realm: "tst.com",
      kerberosDisableFAST: "notabool",
    },
    true,
    false,
  ],
  ["success, SASL none", { sasl: "none" }, false, false],
];

for (const [name, authParams, isError, enableTLS] of authCases) {
  test(`kafka auth in TriggerAuthentication (KEDA parseKafkaAuthParamsTestDataset): ${name}`, () => {
    const r = parseKafkaTrigger({ metadata: validKafkaMetadata, authParams });
    assert.equal(r.ok, !isError, r.ok ? "expected an error" : JSON.stringify(r.errors));
    if (!r.ok) return;
    assert.equal(r.value.tls.enabled, enableTLS);
    if (r.value.tls.enabled) {
      assert.equal(r.value.tls.ca, authParams["ca"]);
      assert.equal(r.value.tls.cert, authParams["cert"]);
      assert.equal(r.value.tls.key, authParams["key"]);
      assert.equal(r.value.tls.keyPassword, authParams["keyPassword"]);
    }
    const sasl = r.value.sasl;
    assert.equal(sasl.mechanism, authParams["sasl"] ?? "none");
    if (sasl.mechanism === "gssapi") {
      assert.equal(sasl.keytab, authParams["keytab"]);
      assert.equal(sasl.kerberosConfig, authParams["kerberosConfig"]);
      assert.equal(sasl.kerberosServiceName, authParams["kerberosServiceName"]);
      assert.equal(sasl.kerberosDisableFAST, authParams["kerberosDisableFAST"] === "true");
    }
  });
}

// KEDA's parseAuthParamsTestDataset: tls and sasl given in the ScaledObject's metadata, secrets in the
// TriggerAuthentication. [name, metadata extras, authParams, isError]
const BASE: M = { ...BT, allowIdleConsumers: "true", version: "1.0.0" };
const CA_CERT_KEY = { ca: "caaa", cert: "ceert", key: "keey" };
const ADMIN = { username: "admin", password: "admin" };
const KRB = { kerberosConfig: "<config>", realm: "test.com" };
const scaledObjectAuthCases: [string, M, M, boolean][] = [
  ["success, SASL plaintext", { sasl: "plaintext" }, ADMIN, false],
  ["success, SASL scram_sha256", { sasl: "scram_sha256" }, ADMIN, false],
  ["success, SASL scram_sha512", { sasl: "scram_sha512" }, ADMIN, false],
  ["success, TLS only", { tls: "enable" }, CA_CERT_KEY, false],
  ["success, TLS cert/key and assumed public CA", { tls: "enable" }, { cert: "ceert", key: "keey" }, false],
  [
    "success, TLS cert/key + key password and assumed public CA",
    { tls: "enable" },
    { cert: "ceert", key: "keey", keyPassword: "keeyPassword" },
    false,
  ],
  ["success, TLS CA only", { tls: "enable" }, { ca: "caaa" }, false],
  ["success, TLS CA only and unsafeSSL", { tls: "enable", unsafeSsl: "true" }, { ca: "caaa" }, false],
  ["success, SASL + TLS", { sasl: "plaintext", tls: "enable" }, { ...ADMIN, ...CA_CERT_KEY }, false],
  ["success, SASL + TLS explicitly disabled", { sasl: "plaintext", tls: "disable" }, ADMIN, false],
  [
    "success, SASL OAUTHBEARER + TLS explicitly disabled",
    { sasl: "oauthbearer", tls: "disable" },
    { ...ADMIN, scopes: "scope", oauthTokenEndpointUri: "https://website.com" },
    false,
  ],
  ["success, SASL GSSAPI/password", { sasl: "gssapi" }, { ...ADMIN, ...KRB }, false],
  [
    "success, SASL GSSAPI/password + TLS explicitly disabled",
    { sasl: "gssapi", tls: "disable" },
    { ...ADMIN, ...KRB },
    false,
  ],
  [
    "success, SASL GSSAPI/password + TLS",
    { sasl: "gssapi", tls: "disable" },
    { ...ADMIN, ...KRB, ...CA_CERT_KEY },
    false,
  ],
  [
    "success, SASL GSSAPI/keytab",
    { sasl: "gssapi" },
    { username: "admin", keytab: "/path/to/keytab", ...KRB },
    false,
  ],
  [
    "success, SASL GSSAPI/keytab + TLS explicitly disabled",
    { sasl: "gssapi", tls: "disable" },
    { username: "admin", keytab: "/path/to/keytab", ...KRB },
    false,
  ],
  [
    "success, SASL GSSAPI/keytab + TLS",
    { sasl: "gssapi", tls: "disable" },
    { username: "admin", keytab: "/path/to/keytab", ...KRB, ...CA_CERT_KEY },
    false,
  ],
  [
    "failure, SASL OAUTHBEARER + TLS explicitly disable + bad SASL type",
    { sasl: "foo", tls: "disable" },
    { ...ADMIN, scopes: "scope", oauthTokenEndpointUri: "https://website.com" },
    true,
  ],
  [
    "success, SASL OAUTHBEARER + TLS missing scope",
    { sasl: "oauthbearer", tls: "disable" },
    { ...ADMIN, oauthTokenEndpointUri: "https://website.com" },
    false,
  ],
  [
    "failure, SASL OAUTHBEARER + TLS missing oauthTokenEndpointUri",
    { sasl: "oauthbearer", tls: "disable" },
    { ...ADMIN, scopes: "scope", oauthTokenEndpointUri: "" },
    true,
  ],
  ["failure, SASL incorrect type", { sasl: "foo" }, ADMIN, true],
  ["failure, SASL missing username", { sasl: "plaintext" }, { password: "admin" }, true],
  ["failure, SASL missing password", { sasl: "plaintext" }, { username: "admin" }, true],
  ["failure, TLS missing cert", { tls: "enable" }, { ca: "caaa", key: "keey" }, true],
  ["failure, TLS missing key", { tls: "enable" }, { ca: "caaa", cert: "ceert" }, true],
  ["failure, TLS invalid", { tls: "random" }, CA_CERT_KEY, true],
  [
    "failure, SASL + TLS, incorrect SASL type",
    { sasl: "foo", tls: "enable" },
    { ...ADMIN, ...CA_CERT_KEY },
    true,
  ],
  [
    "failure, SASL + TLS, incorrect tls",
    { sasl: "plaintext", tls: "foo" },
    { ...ADMIN, ...CA_CERT_KEY },
    true,
  ],
  [
    "failure, SASL + TLS, missing username",
    { sasl: "plaintext", tls: "enable" },
    { password: "admin", ...CA_CERT_KEY },
    true,
  ],
  [
    "failure, SASL + TLS, missing password",
    { sasl: "plaintext", tls: "enable" },
    { username: "admin", ...CA_CERT_KEY },
    true,
  ],
  [
    "failure, SASL + TLS, missing cert",
    { sasl: "plaintext", tls: "enable" },
    { ...ADMIN, ca: "caaa", key: "keey" },
    true,
  ],
  [
    "failure, SASL + TLS, missing key",
    { sasl: "plaintext", tls: "enable" },
    { ...ADMIN, ca: "caaa", cert: "ceert" },
    true,
  ],
  [
    "failure, SASL GSSAPI missing keytab and password",
    { sasl: "gssapi" },
    { username: "admin", realm: "test.com" },
    true,
  ],
  [
    "failure, SASL GSSAPI values in both keytab and password",
    { sasl: "gssapi", tls: "disable" },
    { ...ADMIN, keytab: "/path/to/keytab", realm: "test.com" },
    true,
  ],
  [
    "failure, SASL GSSAPI + TLS missing realm",
    { sasl: "gssapi", tls: "enable" },
    { username: "admin", keytab: "/path/to/keytab", ...CA_CERT_KEY },
    true,
  ],
  [
    "failure, SASL GSSAPI + TLS missing username",
    { sasl: "gssapi", tls: "enable" },
    { realm: "test.com", keytab: "/path/to/keytab", ...CA_CERT_KEY },
    true,
  ],
  [
    "failure, SASL GSSAPI + TLS missing kerberosConfig",
    { sasl: "gssapi", tls: "enable" },
    { username: "admin", realm: "test.com", keytab: "/path/to/keytab", ...CA_CERT_KEY },
    true,
  ],
  [
    "success, setting SASL values in both places (triggerMetadata takes precedence)",
    { sasl: "scram_sha512" },
    { sasl: "scram_sha512", ...ADMIN },
    false,
  ],
  [
    "success, setting TLS values in both places (triggerMetadata takes precedence)",
    { tls: "enable" },
    { tls: "enable", ...CA_CERT_KEY },
    false,
  ],
  [
    "success, setting SASL plaintext value with extra \\n in TriggerAuthentication",
    {},
    { sasl: "plaintext\n", ...ADMIN },
    false,
  ],
  [
    "success, setting SASL plaintext value with extra space in TriggerAuthentication",
    {},
    { sasl: "plaintext ", ...ADMIN },
    false,
  ],
  [
    "success, setting SASL scram_sha256 value with extra \\n in TriggerAuthentication",
    {},
    { sasl: "scram_sha256\n", ...ADMIN },
    false,
  ],
  [
    "success, setting SASL scram_sha256 value with extra space in TriggerAuthentication",
    {},
    { sasl: "scram_sha256 ", ...ADMIN },
    false,
  ],
  [
    "success, setting SASL scram_sha512 value with extra \\n in TriggerAuthentication",
    {},
    { sasl: "scram_sha512\n", ...ADMIN },
    false,
  ],
  [
    "success, setting SASL scram_sha512 value with extra space in TriggerAuthentication",
    {},
    { sasl: "scram_sha512 ", ...ADMIN },
    false,
  ],
  ["success, SASL none", { sasl: "none" }, {}, false],
];

for (const [name, extra, authParams, isError] of scaledObjectAuthCases) {
  test(`kafka auth in ScaledObject (KEDA parseAuthParamsTestDataset): ${name}`, () => {
    const metadata = { ...BASE, ...extra };
    const r = parseKafkaTrigger({ metadata, authParams });
    assert.equal(r.ok, !isError, r.ok ? "expected an error" : JSON.stringify(r.errors));
    if (!r.ok) return;
    assert.equal(r.value.tls.enabled, metadata["tls"] === "enable");
    if (r.value.tls.enabled) {
      assert.equal(r.value.tls.ca, authParams["ca"]);
      assert.equal(r.value.tls.unsafeSsl, metadata["unsafeSsl"] === "true");
    }
    const expectedSasl = (metadata["sasl"] ?? authParams["sasl"] ?? "none").trim();
    assert.equal(r.value.sasl.mechanism, expectedSasl);
  });
}

// KEDA's parseKafkaOAuthbearerAuthParamsTestDataset: [name, metadata extras, authParams, isError, enableTLS]
const MSK_BASE = { sasl: "oauthbearer", saslTokenProvider: "aws_msk_iam" };
const oauthCases: [string, M, M, boolean, boolean][] = [
  ["success, SASL OAUTHBEARER + TLS", {}, { sasl: "oauthbearer", ...OAUTH, tls: "disable" }, false, false],
  [
    "success, SASL OAUTHBEARER + tokenProvider + TLS",
    {},
    { sasl: "oauthbearer", saslTokenProvider: "bearer", ...OAUTH, tls: "disable" },
    false,
    false,
  ],
  [
    "success, SASL OAUTHBEARER + TLS multiple scopes",
    {},
    { sasl: "oauthbearer", ...OAUTH, scopes: "scope1, scope2", tls: "disable" },
    false,
    false,
  ],
  [
    "success, SASL OAUTHBEARER + TLS missing scope",
    {},
    { sasl: "oauthbearer", ...ADMIN, oauthTokenEndpointUri: "https://website.com", tls: "disable" },
    false,
    false,
  ],
  [
    "failure, SASL OAUTHBEARER + TLS bad sasl type",
    {},
    { sasl: "foo", ...OAUTH, tls: "disable" },
    true,
    false,
  ],
  [
    "failure, SASL OAUTHBEARER + TLS missing oauthTokenEndpointUri",
    {},
    { sasl: "oauthbearer", ...OAUTH, oauthTokenEndpointUri: "", tls: "disable" },
    true,
    false,
  ],
  [
    "success, SASL OAUTHBEARER + extension",
    {},
    { sasl: "oauthbearer", ...OAUTH, tls: "disable", oauthExtensions: "extension_foo=bar" },
    false,
    false,
  ],
  [
    "success, SASL OAUTHBEARER + multiple extensions",
    {},
    { sasl: "oauthbearer", ...OAUTH, tls: "disable", oauthExtensions: "extension_foo=bar,extension_baz=baz" },
    false,
    false,
  ],
  [
    "failure, SASL OAUTHBEARER + bad extension",
    {},
    { sasl: "oauthbearer", ...OAUTH, tls: "disable", oauthExtensions: "extension_foo=bar,extension_bazbaz" },
    true,
    false,
  ],
  [
    "success, SASL OAUTHBEARER MSK + TLS + Credentials",
    { awsRegion: "eu-west-1" },
    { ...MSK_BASE, tls: "enable", awsAccessKeyID: "none", awsSecretAccessKey: "none" },
    false,
    true,
  ],
  [
    "success, SASL OAUTHBEARER MSK + TLS + Role",
    { awsRegion: "eu-west-1" },
    { ...MSK_BASE, tls: "enable", awsRegion: "eu-west-1", awsRoleArn: "none" },
    false,
    true,
  ],
  ["failure, SASL OAUTHBEARER MSK + no TLS", {}, { ...MSK_BASE, tls: "disable" }, true, false],
  [
    "failure, SASL OAUTHBEARER MSK + TLS + no region",
    {},
    { ...MSK_BASE, tls: "enable", awsRegion: "" },
    true,
    true,
  ],
  [
    "failure, SASL OAUTHBEARER MSK + TLS + no credentials",
    { awsRegion: "eu-west-1" },
    { ...MSK_BASE, tls: "enable", awsRegion: "eu-west-1" },
    true,
    true,
  ],
];

for (const [name, extra, authParams, isError, enableTLS] of oauthCases) {
  test(`kafka oauthbearer (KEDA parseKafkaOAuthbearerAuthParamsTestDataset): ${name}`, () => {
    const r = parseKafkaTrigger({ metadata: { ...validKafkaMetadata, ...extra }, authParams });
    assert.equal(r.ok, !isError, r.ok ? "expected an error" : JSON.stringify(r.errors));
    if (!r.ok) return;
    assert.equal(r.value.tls.enabled, enableTLS);
    const sasl = r.value.sasl;
    assert.equal(sasl.mechanism, "oauthbearer");
    if (sasl.mechanism !== "oauthbearer") return;
    assert.equal(sasl.tokenProvider, authParams["saslTokenProvider"] ?? "bearer");
    if (sasl.tokenProvider === "bearer") {
      const scopes = authParams["scopes"];
      assert.deepEqual(sasl.scopes, scopes ? scopes.split(",").map((s) => s.trim()) : []);
      const ext = authParams["oauthExtensions"];
      assert.equal(Object.keys(sasl.oauthExtensions).length, ext ? ext.split(",").length : 0);
    } else {
      assert.equal(sasl.awsRegion, extra["awsRegion"]);
      if (authParams["awsAccessKeyID"]) {
        assert.deepEqual(sasl.aws, { kind: "accessKey", accessKeyId: "none", secretAccessKey: "none" });
      } else {
        assert.deepEqual(sasl.aws, { kind: "role", roleArn: "none" });
      }
    }
  });
}

test("MSK IAM: pod identity provider aws needs no keys; identityOwner operator neither", () => {
  const authParams = { ...MSK_BASE, tls: "enable" };
  const metadata = { ...validKafkaMetadata, awsRegion: "eu-west-1" };
  const pod = mustParse(parseKafkaTrigger({ metadata, authParams, podIdentity: { provider: "aws" } }));
  assert.deepEqual(pod.sasl, {
    mechanism: "oauthbearer",
    tokenProvider: "aws_msk_iam",
    awsRegion: "eu-west-1",
    aws: { kind: "podIdentity" },
  });
  const op = mustParse(
    parseKafkaTrigger({ metadata: { ...metadata, identityOwner: "operator" }, authParams }),
  );
  assert.ok(op.sasl.mechanism === "oauthbearer" && op.sasl.tokenProvider === "aws_msk_iam");
  const noSecret = parseKafkaTrigger({ metadata, authParams: { ...authParams, awsAccessKeyID: "AK" } });
  assert.equal(noSecret.ok, false);
  if (!noSecret.ok)
    assert.deepEqual(
      noSecret.errors.map((e) => e.parameter),
      ["awsSecretAccessKey"],
    );
});

test("sources: <name>FromEnv is read after metadata, and only for bootstrapServers, consumerGroup, topic", () => {
  const resolvedEnv = { BROKERS: " a:9092 , b:9092 ", GROUP: "g-env", TOPIC: "t-env", LAG: "5" };
  const fromEnv = mustParse(
    parseKafkaTrigger({
      metadata: {
        bootstrapServersFromEnv: "BROKERS",
        consumerGroupFromEnv: "GROUP",
        topicFromEnv: "TOPIC",
        lagThresholdFromEnv: "LAG",
      },
      resolvedEnv,
    }),
  );
  assert.deepEqual(fromEnv.bootstrapServers, ["a:9092", "b:9092"]);
  assert.equal(fromEnv.consumerGroup, "g-env");
  assert.equal(fromEnv.topic, "t-env");
  assert.equal(fromEnv.lagThreshold, 10, "lagThreshold has no resolvedEnv source in KEDA");
  const metadataWins = mustParse(
    parseKafkaTrigger({ metadata: { ...BT, consumerGroupFromEnv: "GROUP" }, resolvedEnv }),
  );
  assert.equal(metadataWins.consumerGroup, "my-group");
  const blankFallsThrough = mustParse(
    parseKafkaTrigger({
      metadata: { ...BT, consumerGroup: "   ", consumerGroupFromEnv: "GROUP" },
      resolvedEnv,
    }),
  );
  assert.equal(blankFallsThrough.consumerGroup, "g-env");
});

test("sources: credentials are read from the TriggerAuthentication only, never from metadata", () => {
  const r = parseKafkaTrigger({ metadata: { ...BT, sasl: "plaintext", username: "u", password: "p" } });
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual(r.errors.map((e) => e.parameter).sort(), ["password", "username"]);
});

test("blank values count as absent: empty topic is the all-topics mode, empty lagThreshold is 10", () => {
  const m = mustParse(parseKafkaTrigger({ metadata: { ...B, topic: "  ", lagThreshold: " " } }));
  assert.equal(m.topic, undefined);
  assert.equal(m.lagThreshold, 10);
});

test("booleans follow Go ParseBool exactly", () => {
  for (const [v, want] of [
    ["1", true],
    ["t", true],
    ["T", true],
    ["TRUE", true],
    ["true", true],
    ["True", true],
    ["0", false],
    ["f", false],
    ["F", false],
    ["FALSE", false],
    ["false", false],
    ["False", false],
  ] as const) {
    // prettier-ignore
    assert.equal(mustParse(parseKafkaTrigger({ metadata: { ...BT, excludePersistentLag: v } })).excludePersistentLag, want, v);
  }
  for (const v of ["yes", "no", "tRUE", "on", "2"]) {
    const r = parseKafkaTrigger({ metadata: { ...BT, excludePersistentLag: v } });
    assert.equal(r.ok, false, v);
    if (!r.ok) assert.match(r.errors[0]!.message, /unable to set param "excludePersistentLag" value/);
  }
});

test("integers are JSON int64: fractions, exponents, leading zeros, plus signs and words are refused", () => {
  for (const v of ["1.5", "1e3", "010", "+5", "AA", "10 20", "9223372036854775808"]) {
    const r = parseKafkaTrigger({ metadata: { ...BT, lagThreshold: v } });
    assert.equal(r.ok, false, v);
    if (!r.ok) {
      assert.equal(
        r.errors.length,
        1,
        `one error for ${v}, not a second "must be positive": ${JSON.stringify(r.errors)}`,
      );
      assert.equal(r.errors[0]!.parameter, "lagThreshold");
    }
  }
  assert.equal(
    mustParse(parseKafkaTrigger({ metadata: { ...BT, activationLagThreshold: " 42 " } }))
      .activationLagThreshold,
    42,
  );
});

test("error messages have KEDA's shapes and every error is reported at once", () => {
  const r = parseKafkaTrigger({
    metadata: {
      offsetResetPolicy: "Latest",
      lagThreshold: "0",
      allowIdleConsumers: "true",
      limitToPartitionsWithLag: "true",
      sasl: "PLAIN",
    },
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const messages = r.errors.map((e) => `${e.parameter}: ${e.message}`);
  assert.deepEqual(messages, [
    'bootstrapServers: missing required parameter "bootstrapServers" in [triggerMetadata resolvedEnv]',
    'consumerGroup: missing required parameter "consumerGroup" in [triggerMetadata resolvedEnv]',
    'offsetResetPolicy: parameter "offsetResetPolicy" value "Latest" must be one of [latest earliest]',
    'sasl: parameter "sasl" value "PLAIN" must be one of [none plaintext scram_sha256 scram_sha512 oauthbearer gssapi]',
    'lagThreshold: "lagThreshold" must be positive number',
    "limitToPartitionsWithLag: allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously",
    "topic: topic must be specified when using limitToPartitionsWithLag",
  ]);
});

test("GSSAPI reports every missing piece, each under its parameter", () => {
  const r = parseKafkaTrigger({ metadata: { ...BT, sasl: "gssapi" } });
  assert.equal(r.ok, false);
  if (!r.ok)
    assert.deepEqual(
      r.errors.map((e) => e.parameter),
      ["username", "password", "realm", "kerberosConfig"],
    );
});

test("partitionLimitation: KEDA's forms, trimming, reversed ranges, and errors", () => {
  const cases: [string, number[] | string][] = [
    ["1,2,3,4", [1, 2, 3, 4]],
    ["1-4", [1, 2, 3, 4]],
    ["1-4,8,10-12", [1, 2, 3, 4, 8, 10, 11, 12]],
    [" 1 - 4 , 8 ", [1, 2, 3, 4, 8]],
    ["5-3", []],
    ["a,b,c,d", "invalid partition limitation: a"],
    ["1-2-3", "invalid partition limitation range: 1-2-3"],
    ["1,,2", "invalid partition limitation: "],
    ["-3", "invalid partition limitation: -3"],
    [
      "0-2147483647",
      "invalid partition limitation: it names more than 10000 partition ids in total; list the partitions the topic has (e.g. 0-11)",
    ],
    [
      Array(2).fill("0-9999").join(","),
      "invalid partition limitation: it names more than 10000 partition ids in total; list the partitions the topic has (e.g. 0-11)",
    ],
  ];
  for (const [input, want] of cases) {
    const r = parsePartitionLimitation(input);
    if (typeof want === "string") assert.deepEqual(r, { ok: false, message: want }, input);
    else assert.deepEqual(r, { ok: true, value: want }, input);
  }
  const r = parseKafkaTrigger({ metadata: { ...B, partitionLimitation: "x" } });
  assert.equal(r.ok, false, "KEDA reports a malformed limitation even when topic is empty");
});

test("version: Sarama's forms; unknown but well-formed versions are accepted with a warning", () => {
  assert.deepEqual(checkKafkaVersion("1.0.0"), { ok: true, version: "1.0.0", known: true });
  assert.deepEqual(checkKafkaVersion("0.10.2.1"), { ok: true, version: "0.10.2.1", known: true });
  assert.deepEqual(checkKafkaVersion("3.9.3"), { ok: true, version: "3.9.3", known: false });
  for (const bad of ["1.2.3.4", "0.10.2", "1.0", "v1.0.0", "1.0.x", ""]) {
    assert.equal(checkKafkaVersion(bad).ok, false, bad);
  }
  assert.equal(mustParse(parseKafkaTrigger({ metadata: BT })).version, "1.0.0");
  const r = parseKafkaTrigger({ metadata: { ...BT, version: "3.9.3" } });
  assert.ok(r.ok);
  assert.equal(r.warnings.length, 1);
  const bad = parseKafkaTrigger({ metadata: { ...BT, version: "1.2.3.4" } });
  assert.ok(!bad.ok && bad.errors[0]!.message === "error parsing kafka version: invalid version `1.2.3.4`");
});

test("kafkaClusterIdentity: same cluster and credentials share, anything else does not, secrets never appear", () => {
  const auth = { sasl: "scram_sha512", username: "svc", password: "s3cret-value" };
  const a = mustParse(
    parseKafkaTrigger({
      metadata: { bootstrapServers: "b:9092,A:9092", consumerGroup: "g1", topic: "t1" },
      authParams: auth,
    }),
  );
  const b = mustParse(
    parseKafkaTrigger({
      metadata: { bootstrapServers: "a:9092, b:9092", consumerGroup: "g2", lagThreshold: "50" },
      authParams: auth,
    }),
  );
  const otherPassword = mustParse(
    parseKafkaTrigger({
      metadata: { ...BT, bootstrapServers: "a:9092,b:9092" },
      authParams: { ...auth, password: "other" },
    }),
  );
  const otherBrokers = mustParse(
    parseKafkaTrigger({ metadata: { ...BT, bootstrapServers: "a:9092,c:9092" }, authParams: auth }),
  );
  const tls = mustParse(
    parseKafkaTrigger({
      metadata: { ...BT, bootstrapServers: "a:9092,b:9092", tls: "enable" },
      authParams: auth,
    }),
  );
  assert.equal(kafkaClusterIdentity(a), kafkaClusterIdentity(b));
  assert.notEqual(kafkaClusterIdentity(a), kafkaClusterIdentity(otherPassword));
  assert.notEqual(kafkaClusterIdentity(a), kafkaClusterIdentity(otherBrokers));
  assert.notEqual(kafkaClusterIdentity(a), kafkaClusterIdentity(tls));
  assert.ok(!kafkaClusterIdentity(a).includes("s3cret"));
  assert.match(kafkaClusterIdentity(a), /^a:9092,b:9092\|tls=off\|sasl=scram_sha512:svc\|[0-9a-f]{16}$/);
});

test("unsafeSsl is warned about, wherever tls is set", () => {
  const warned = (input: Parameters<typeof parseKafkaTrigger>[0]) => {
    const r = parseKafkaTrigger(input);
    assert.ok(r.ok);
    return r.warnings.filter((w) => /unsafeSsl is true/.test(w)).length;
  };
  assert.equal(warned({ metadata: { ...BT, tls: "enable", unsafeSsl: "true" } }), 1);
  assert.equal(
    warned({ metadata: { ...BT, unsafeSsl: "true" } }),
    1,
    "tls may come from the TriggerAuthentication",
  );
  assert.equal(warned({ metadata: { ...BT, tls: "enable", unsafeSsl: "false" } }), 0);
  assert.equal(warned({ metadata: { ...BT, tls: "enable" } }), 0);
});

test("kafkaUnsupportedReason names gssapi and nothing else", () => {
  const gss = mustParse(
    parseKafkaTrigger({
      metadata: BT,
      authParams: { sasl: "gssapi", username: "u", password: "p", realm: "R", kerberosConfig: "c" },
    }),
  );
  assert.match(kafkaUnsupportedReason(gss) ?? "", /gssapi/);
  const oauth = mustParse(parseKafkaTrigger({ metadata: BT, authParams: { sasl: "oauthbearer", ...OAUTH } }));
  assert.equal(kafkaUnsupportedReason(oauth), undefined);
  const plain = mustParse(
    parseKafkaTrigger({ metadata: BT, authParams: { sasl: "plaintext", username: "u", password: "p" } }),
  );
  assert.equal(kafkaUnsupportedReason(plain), undefined);
  assert.equal(kafkaUnsupportedReason(mustParse(parseKafkaTrigger({ metadata: BT }))), undefined);
  const scram = mustParse(
    parseKafkaTrigger({ metadata: BT, authParams: { sasl: "scram_sha256", username: "u", password: "p" } }),
  );
  assert.equal(kafkaUnsupportedReason(scram), undefined);
});

test("kafkaMetricName follows KEDA's metric identifiers", () => {
  assert.equal(kafkaMetricName(mustParse(parseKafkaTrigger({ metadata: BT })), 0), "s0-kafka-my-topic");
  assert.equal(kafkaMetricName(mustParse(parseKafkaTrigger({ metadata: BT })), 1), "s1-kafka-my-topic");
  assert.equal(kafkaMetricName(mustParse(parseKafkaTrigger({ metadata: B })), 1), "s1-kafka-my-group-topics");
  assert.equal(
    kafkaMetricName(mustParse(parseKafkaTrigger({ metadata: { ...B, topic: "a.b/c" } })), 0),
    "s0-kafka-a-b-c",
  );
});
