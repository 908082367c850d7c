import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULTS, parseSidecarConfig, type Env } from "./config.js";

const BASE: Env = {
  POD_NAME: "consumer-7d9f-abcde",
  POD_NAMESPACE: "shop",
  POD_IP: "10.1.2.3",
  LAGSCALE_SCALED_OBJECT: "orders",
  KAFKA_BOOTSTRAP_SERVERS: "kafka-0:9092, kafka-1:9092",
  LAGSCALE_CONSUMER_GROUP: "orders-consumers",
  LAGSCALE_LAG_THRESHOLD: "10",
  LAGSCALE_REPORT_URL: "https://lagscale-reports.lagscale.svc:9444/v1/reports",
};

test("a minimal environment gives the defaults", () => {
  const c = parseSidecarConfig(BASE);
  assert.deepEqual(c.pod, { name: "consumer-7d9f-abcde", namespace: "shop", ip: "10.1.2.3" });
  assert.deepEqual(c.kafka.brokers, ["kafka-0:9092", "kafka-1:9092"]);
  assert.equal(c.kafka.sasl, undefined);
  assert.equal(c.kafka.tls, undefined);
  assert.equal(c.topic, undefined);
  assert.equal(c.lagThreshold, 10);
  assert.equal(c.offsetResetPolicy, "latest");
  assert.equal(c.reportUrl.href, "https://lagscale-reports.lagscale.svc:9444/v1/reports");
  assert.equal(c.tokenFile, DEFAULTS.tokenFile);
  assert.equal(c.fastIntervalMs, 1_000);
  assert.equal(c.slowIntervalMs, 10_000);
  assert.equal(c.stallWindowMs, 30_000);
  assert.equal(c.metricsPort, 9464);
  assert.equal(c.healthPort, 9465);
  assert.equal(c.endOffsetWatch, false);
  assert.equal(c.bindAddress, "0.0.0.0");
  assert.equal(c.logLevel, "info");
});

test("optional settings are read", () => {
  const c = parseSidecarConfig({
    ...BASE,
    POD_IP: "fd00::5",
    LAGSCALE_TOPIC: "orders",
    LAGSCALE_OFFSET_RESET_POLICY: "Earliest",
    LAGSCALE_CLIENT_ID_PREFIX: "orders-app",
    LAGSCALE_TOKEN_FILE: "/tmp/token",
    LAGSCALE_REPORT_CA_FILE: "/tmp/ca.pem",
    LAGSCALE_FAST_INTERVAL_MS: "500",
    LAGSCALE_SLOW_INTERVAL_MS: "20000",
    LAGSCALE_STALL_WINDOW_MS: "5000",
    LAGSCALE_METRICS_PORT: "0",
    LAGSCALE_HEALTH_PORT: "0",
    LAGSCALE_END_OFFSET_WATCH: "true",
    KAFKA_SASL: "scram_sha512",
    KAFKA_USERNAME: "u",
    KAFKA_PASSWORD: "p",
    KAFKA_TLS: "enable",
    KAFKA_CA: "-----BEGIN CERTIFICATE-----",
    LOG_LEVEL: "debug",
  });
  assert.equal(c.pod.ip, "fd00::5");
  assert.equal(c.topic, "orders");
  assert.equal(c.offsetResetPolicy, "earliest");
  assert.equal(c.clientIdPrefix, "orders-app");
  assert.equal(c.tokenFile, "/tmp/token");
  assert.equal(c.reportCaFile, "/tmp/ca.pem");
  assert.equal(c.fastIntervalMs, 500);
  assert.equal(c.slowIntervalMs, 20_000);
  assert.equal(c.stallWindowMs, 5_000);
  assert.equal(c.metricsPort, 0);
  assert.equal(c.endOffsetWatch, true);
  assert.deepEqual(c.kafka.sasl, { mechanism: "scram-sha-512", username: "u", password: "p" });
  assert.equal(c.kafka.tls?.ca, "-----BEGIN CERTIFICATE-----");
  assert.equal(c.kafka.tls?.unsafeSsl, false);
  assert.equal(c.logLevel, "debug");
});

const REJECTED: { name: string; env: Env; message: RegExp }[] = [
  { name: "no pod name", env: { POD_NAME: undefined }, message: /POD_NAME is not set: .*metadata\.name/ },
  { name: "pod name with capitals", env: { POD_NAME: "Pod" }, message: /POD_NAME="Pod" is not a Kubernetes/ },
  { name: "no namespace", env: { POD_NAMESPACE: " " }, message: /POD_NAMESPACE is not set/ },
  { name: "no pod IP", env: { POD_IP: undefined }, message: /POD_IP is not set: .*status\.podIP/ },
  { name: "pod IP not an IP", env: { POD_IP: "pod-a" }, message: /POD_IP="pod-a" is not an IP address/ },
  {
    name: "no ScaledObject",
    env: { LAGSCALE_SCALED_OBJECT: "" },
    message: /LAGSCALE_SCALED_OBJECT is not set/,
  },
  {
    name: "no group",
    env: { LAGSCALE_CONSUMER_GROUP: undefined },
    message: /LAGSCALE_CONSUMER_GROUP is not set/,
  },
  { name: "bad topic", env: { LAGSCALE_TOPIC: "a b" }, message: /LAGSCALE_TOPIC="a b" is not a Kafka topic/ },
  { name: "no brokers", env: { KAFKA_BOOTSTRAP_SERVERS: "" }, message: /KAFKA_BOOTSTRAP_SERVERS is not set/ },
  {
    name: "broker not host:port",
    env: { KAFKA_BOOTSTRAP_SERVERS: "kafka" },
    message: /"kafka" is not host:port/,
  },
  {
    name: "no threshold",
    env: { LAGSCALE_LAG_THRESHOLD: undefined },
    message: /LAGSCALE_LAG_THRESHOLD is not set/,
  },
  { name: "zero threshold", env: { LAGSCALE_LAG_THRESHOLD: "0" }, message: /must be a whole number above 0/ },
  { name: "fractional threshold", env: { LAGSCALE_LAG_THRESHOLD: "1.5" }, message: /above 0/ },
  { name: "policy", env: { LAGSCALE_OFFSET_RESET_POLICY: "none" }, message: /must be latest or earliest/ },
  {
    name: "no report URL",
    env: { LAGSCALE_REPORT_URL: undefined },
    message: /LAGSCALE_REPORT_URL is not set/,
  },
  { name: "report URL not a URL", env: { LAGSCALE_REPORT_URL: "reports" }, message: /is not a URL/ },
  {
    name: "report URL scheme",
    env: { LAGSCALE_REPORT_URL: "ftp://x/" },
    message: /http:\/\/ or https:\/\/, not ftp:/,
  },
  {
    name: "report URL with credentials",
    env: { LAGSCALE_REPORT_URL: "https://a:b@x/" },
    message: /must not carry credentials/,
  },
  {
    name: "interval not a number",
    env: { LAGSCALE_FAST_INTERVAL_MS: "1s" },
    message: /"1s" must be a whole number from 100/,
  },
  {
    name: "slow below fast",
    env: { LAGSCALE_FAST_INTERVAL_MS: "5000", LAGSCALE_SLOW_INTERVAL_MS: "1000" },
    message: /must not be below LAGSCALE_FAST_INTERVAL_MS/,
  },
  { name: "port out of range", env: { LAGSCALE_METRICS_PORT: "70000" }, message: /from 0 to 65535/ },
  {
    name: "same ports",
    env: { LAGSCALE_METRICS_PORT: "9000", LAGSCALE_HEALTH_PORT: "9000" },
    message: /both 9000: give them different ports/,
  },
  { name: "unknown sasl", env: { KAFKA_SASL: "gssapi" }, message: /KAFKA_SASL="gssapi" is not supported/ },
  { name: "sasl without user", env: { KAFKA_SASL: "plaintext" }, message: /SASL needs a username/ },
  { name: "tls value", env: { KAFKA_TLS: "yes" }, message: /KAFKA_TLS="yes" must be enable or disable/ },
  {
    name: "oauthbearer without endpoint",
    env: { KAFKA_SASL: "oauthbearer", KAFKA_USERNAME: "c", KAFKA_PASSWORD: "s" },
    message: /KAFKA_OAUTH_TOKEN_ENDPOINT_URI is not set/,
  },
  {
    name: "oauthbearer bad extension",
    env: {
      KAFKA_SASL: "oauthbearer",
      KAFKA_USERNAME: "c",
      KAFKA_PASSWORD: "s",
      KAFKA_OAUTH_TOKEN_ENDPOINT_URI: "https://idp/token",
      KAFKA_OAUTH_EXTENSIONS: "novalue",
    },
    message: /KAFKA_OAUTH_EXTENSIONS: "novalue" is not key=value/,
  },
  {
    name: "msk without region",
    env: { KAFKA_SASL: "oauthbearer", KAFKA_SASL_TOKEN_PROVIDER: "aws_msk_iam" },
    message: /KAFKA_AWS_REGION is not set/,
  },
  {
    name: "unknown token provider",
    env: { KAFKA_SASL: "oauthbearer", KAFKA_SASL_TOKEN_PROVIDER: "gcp" },
    message: /must be bearer or aws_msk_iam/,
  },
  {
    name: "cert without key",
    env: { KAFKA_TLS: "enable", KAFKA_CERT: "pem" },
    message: /TLS cert and key must be given together/,
  },
  { name: "watch flag", env: { LAGSCALE_END_OFFSET_WATCH: "maybe" }, message: /must be true or false/ },
  { name: "log level", env: { LOG_LEVEL: "loud" }, message: /LOG_LEVEL="loud" is not one of/ },
];

for (const c of REJECTED) {
  test(`rejected: ${c.name}`, () => {
    assert.throws(() => parseSidecarConfig({ ...BASE, ...c.env }), c.message);
  });
}

test("OAUTHBEARER and MSK IAM settings are read with KEDA's names", () => {
  const oauth = parseSidecarConfig({
    ...BASE,
    KAFKA_SASL: "OAuthBearer",
    KAFKA_USERNAME: "client",
    KAFKA_PASSWORD: "secret",
    KAFKA_OAUTH_TOKEN_ENDPOINT_URI: "https://idp/token",
    KAFKA_SCOPES: "kafka, read",
    KAFKA_OAUTH_EXTENSIONS: "logicalCluster=lkc-1,identityPoolId=pool-2",
    KAFKA_TLS: "enable",
  });
  assert.deepEqual(oauth.kafka.sasl, {
    mechanism: "oauthbearer",
    tokenEndpoint: "https://idp/token",
    clientId: "client",
    clientSecret: "secret",
    scopes: ["kafka", "read"],
    extensions: { logicalCluster: "lkc-1", identityPoolId: "pool-2" },
  });
  const msk = parseSidecarConfig({
    ...BASE,
    KAFKA_SASL: "oauthbearer",
    KAFKA_SASL_TOKEN_PROVIDER: "aws_msk_iam",
    KAFKA_AWS_REGION: "eu-west-1",
    KAFKA_TLS: "enable",
  });
  assert.deepEqual(msk.kafka.sasl, {
    mechanism: "aws-msk-iam",
    region: "eu-west-1",
    credentials: { kind: "environment" },
  });
});

test("every problem is listed at once", () => {
  assert.throws(
    () => parseSidecarConfig({}),
    (err: Error) => {
      for (const name of [
        "POD_NAME",
        "POD_NAMESPACE",
        "POD_IP",
        "LAGSCALE_SCALED_OBJECT",
        "LAGSCALE_REPORT_URL",
      ]) {
        assert.match(err.message, new RegExp(`${name} is not set`));
      }
      return true;
    },
  );
});

test("the servers' bind address is an IP address", () => {
  assert.equal(parseSidecarConfig({ ...BASE, LAGSCALE_BIND_ADDRESS: "127.0.1.7" }).bindAddress, "127.0.1.7");
  assert.equal(parseSidecarConfig({ ...BASE, LAGSCALE_BIND_ADDRESS: "::" }).bindAddress, "::");
  assert.throws(
    () => parseSidecarConfig({ ...BASE, LAGSCALE_BIND_ADDRESS: "$(POD_IP)" }),
    /LAGSCALE_BIND_ADDRESS="\$\(POD_IP\)" is not an IP address/,
  );
});
